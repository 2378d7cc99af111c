package upg

import "unsafe"

// Syntax nodes are not allocated one by one: each node type has a slab (a
// slice that hands out pointers to its elements), and argument and
// statement lists are carved out of shared backing arrays. Parse checks
// :C: code without making its nodes: it only adds to the counts of an
// arena whose slabs stay empty, and the nodes of Section.Body are built
// later, on first use, into slabs sized from those counts.

type slab[T any] struct {
	buf    []T
	count  int // nodes handed out since the slab was made (sizes the build arena)
	budget int // nodes still to come when the total is known (see sized)
}

func (s *slab[T]) alloc() *T {
	if len(s.buf) == cap(s.buf) {
		s.grow()
	}
	s.count++
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// slabChunk is how many bytes of nodes of a known total are made at a
// time: the memory is zeroed just before it is used, while it is still in
// the cache (16 KB is an allocation size class: nothing is wasted).
const slabChunk = 16 << 10

func (s *slab[T]) grow() {
	if s.budget > 0 {
		var x T
		n := min(s.budget, max(1, slabChunk/int(unsafe.Sizeof(x))))
		s.budget -= n
		s.buf = make([]T, 0, n)
		return
	}
	s.buf = make([]T, 0, max(32, 2*cap(s.buf)))
}

// sized says that n nodes will be needed: the slab makes exactly that many
// (in chunks).
func (s *slab[T]) sized(n int) {
	s.budget = n
}

// carver backs many short slices (argument lists, statement lists): each is
// copied into the current backing array and capped at its length, so an
// append by a caller copies instead of overwriting a neighbour.
type carver[T any] struct {
	buf   []T
	count int
}

func (c *carver[T]) carve(xs []T) []T {
	n := len(xs)
	if n == 0 {
		return nil
	}
	c.count += n
	if cap(c.buf)-len(c.buf) < n {
		c.buf = make([]T, 0, max(256, 2*n, 2*cap(c.buf)))
	}
	l := len(c.buf)
	c.buf = append(c.buf, xs...)
	return c.buf[l : l+n : l+n]
}

func (c *carver[T]) sized(n int) {
	if n > 0 {
		c.buf = make([]T, 0, n)
	}
}

// nodeArena holds the expression and statement nodes.
type nodeArena struct {
	ident  slab[Ident]
	lit    slab[BasicLit]
	bin    slab[BinaryExpr]
	unary  slab[UnaryExpr]
	paren  slab[ParenExpr]
	call   slab[CallExpr]
	tref   slab[TokenRef]
	badX   slab[BadExpr]
	assign slab[AssignStmt]
	cmd    slab[CommandStmt]
	ifs    slab[IfStmt]
	callSt slab[CallStmt]
	ret    slab[ReturnStmt]
	gotos  slab[GotoStmt]
	badS   slab[BadStmt]
	exprs  carver[Expr]
	stmts  carver[Stmt]
}

// zeroCounts starts counting the nodes handed out anew.
func (a *nodeArena) zeroCounts() {
	a.ident.count, a.lit.count, a.bin.count, a.unary.count = 0, 0, 0, 0
	a.paren.count, a.call.count, a.tref.count, a.badX.count = 0, 0, 0, 0
	a.assign.count, a.cmd.count, a.ifs.count, a.callSt.count = 0, 0, 0, 0
	a.ret.count, a.gotos.count, a.badS.count, a.exprs.count, a.stmts.count = 0, 0, 0, 0, 0
}

// arenaSizes is how many nodes of each kind an arena handed out.
type arenaSizes [17]int32

func (a *nodeArena) sizes() arenaSizes {
	return arenaSizes{
		int32(a.ident.count), int32(a.lit.count), int32(a.bin.count), int32(a.unary.count),
		int32(a.paren.count), int32(a.call.count), int32(a.tref.count), int32(a.badX.count),
		int32(a.assign.count), int32(a.cmd.count), int32(a.ifs.count), int32(a.callSt.count),
		int32(a.ret.count), int32(a.gotos.count), int32(a.badS.count), int32(a.exprs.count),
		int32(a.stmts.count),
	}
}

// sized prepares an arena that holds exactly n nodes of each kind.
func (a *nodeArena) sized(n *arenaSizes) {
	a.ident.sized(int(n[0]))
	a.lit.sized(int(n[1]))
	a.bin.sized(int(n[2]))
	a.unary.sized(int(n[3]))
	a.paren.sized(int(n[4]))
	a.call.sized(int(n[5]))
	a.tref.sized(int(n[6]))
	a.badX.sized(int(n[7]))
	a.assign.sized(int(n[8]))
	a.cmd.sized(int(n[9]))
	a.ifs.sized(int(n[10]))
	a.callSt.sized(int(n[11]))
	a.ret.sized(int(n[12]))
	a.gotos.sized(int(n[13]))
	a.badS.sized(int(n[14]))
	a.exprs.sized(int(n[15]))
	a.stmts.sized(int(n[16]))
}

// tailArena backs many small slices that grow one element at a time, one
// of them at a time (the sub-commands of the open attribute, …): a slice
// that ends at the arena's tail grows in place; any other slice is moved
// to the tail first. Returned slices are capped at their length, so an
// append by a caller copies instead of overwriting a neighbour.
type tailArena[T any] struct{ buf []T }

func (a *tailArena[T]) push(cur []T, x T) []T {
	n := len(cur)
	l := len(a.buf)
	if n > 0 && l > 0 && l < cap(a.buf) && &cur[n-1] == &a.buf[l-1] {
		a.buf = append(a.buf, x)
		return a.buf[l-n : l+1 : l+1]
	}
	if cap(a.buf)-l < n+1 {
		a.buf = make([]T, 0, max(256, 4*(n+1)))
		l = 0
	}
	a.buf = append(a.buf, cur...)
	a.buf = append(a.buf, x)
	return a.buf[l : l+n+1 : l+n+1]
}
