package upload

import "fmt"

// ReadLoose validates one loose file: its name is flattened to the base
// name and must be safe (422 UNSAFE_PATH) and carry a UPG extension (400
// UNSUPPORTED_FILE_TYPE). Data is kept, not copied.
func ReadLoose(name string, data []byte) (File, error) {
	base, why := flatten(name)
	if why != "" {
		return File{}, errUnsafe(false, []string{quoteName(name) + ": " + why})
	}
	ext := extOf(base)
	if !isKnownExt(ext) {
		return File{}, errUnsupported([]string{base})
	}
	return newFile(base, ext, data), nil
}

// ReadLooseFiles validates a set of loose files as one package: system
// clutter (.DS_Store, …) is skipped, every other file must pass ReadLoose,
// the count and sizes must be within lim, names must be unique ignoring
// case, and there must be a .SRC. Problems of one kind are reported
// together. The result is sorted by name.
func ReadLooseFiles(in []Named, lim Limits) ([]File, error) {
	lim = lim.normalized()
	var (
		entries     []entryName
		data        [][]byte
		unsafe      []string
		unsupported []string
	)
	for _, n := range in {
		if isJunk(n.Name) {
			continue
		}
		base, why := flatten(n.Name)
		if why != "" {
			unsafe = append(unsafe, quoteName(n.Name)+": "+why)
			continue
		}
		ext := extOf(base)
		if !isKnownExt(ext) {
			unsupported = append(unsupported, base)
			continue
		}
		entries = append(entries, entryName{name: base, path: n.Name, ext: ext})
		data = append(data, n.Data)
	}
	switch {
	case len(unsafe) > 0:
		return nil, errUnsafe(false, unsafe)
	case len(unsupported) > 0:
		return nil, errUnsupported(unsupported)
	case len(entries) == 0:
		return nil, errNoFiles(fmt.Sprintf("%d files received, all skipped system files", len(in)))
	case len(entries) > lim.MaxFiles:
		return nil, errTooManyFiles(lim.MaxFiles, fmt.Sprintf("%d files uploaded, limit %d", len(entries), lim.MaxFiles))
	}
	var total int64
	for i, e := range entries {
		size := int64(len(data[i]))
		if size > lim.MaxFileBytes {
			return nil, errFileTooLarge(e.name, lim.MaxFileBytes, fmt.Sprintf("%s is %d bytes, limit %d", quoteName(e.path), size, lim.MaxFileBytes))
		}
		total += size
		if total > lim.MaxTotalBytes {
			return nil, errPackageTooLarge(lim.MaxTotalBytes, fmt.Sprintf("files add up to more than %d bytes (limit %d)", total, lim.MaxTotalBytes))
		}
	}
	if err := checkNames(entries, false); err != nil {
		return nil, err
	}
	files := make([]File, len(entries))
	for i, e := range entries {
		files[i] = newFile(e.name, e.ext, data[i])
	}
	sortFiles(files)
	return files, nil
}
