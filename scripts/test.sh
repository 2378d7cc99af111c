#!/usr/bin/env bash
# VeriPost's one test command.
#
#   bash scripts/test.sh                         vet, gofmt check, go test ./... with every service
#   bash scripts/test.sh -run X ./internal/blob/...
#                                                the same, but these arguments go to go test (and
#                                                the package patterns among them to go vet)
#   bash scripts/test.sh --services-only         start the services, print the env exports, keep
#                                                them running until Ctrl-C (= scripts/services.sh)
#
# It installs and starts, in a throw-away directory, everything the tests need,
# and stops and deletes all of it on exit:
#   - PostgreSQL 15 (a fresh cluster on a free loopback port, trust auth, run as
#     the "postgres" OS user when started as root), with pgvector when apt has it;
#   - SeaweedFS S3 (`weed mini` on free loopback ports, signed requests checked
#     against a generated access key), built once from the Go module proxy and
#     cached in ${XDG_CACHE_HOME:-$HOME/.cache}/veripost/bin;
#   - Chromium for the UI tests (apt), with fonts for screenshots.
# Tests find them through these variables (see internal/testenv):
#   VERIPOST_TEST_DATABASE_URL, VERIPOST_TEST_PGVECTOR (1/0),
#   VERIPOST_TEST_S3_ENDPOINT, VERIPOST_TEST_S3_ACCESS_KEY,
#   VERIPOST_TEST_S3_SECRET_KEY, VERIPOST_TEST_S3_REGION,
#   VERIPOST_TEST_CHROMIUM, VERIPOST_REQUIRE_SERVICES=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

MODE=test
if [[ "${1:-}" == "--services-only" ]]; then
	MODE=services
	shift
fi

WEED_MODULE=github.com/seaweedfs/seaweedfs
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
CACHE_BIN="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/veripost/bin"
WEED_BIN="$CACHE_BIN/weed-$WEED_VERSION"
PG_MAJOR=15
START=$SECONDS

log() { printf '==> [test.sh %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
warn() { printf '==> [test.sh %4ss] WARNING: %s\n' "$((SECONDS - START))" "$*" >&2; }
die() {
	printf '==> [test.sh %4ss] FAILED: %s\n' "$((SECONDS - START))" "$*" >&2
	exit 1
}

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# ---------------------------------------------------------------------------
# Throw-away work directory and cleanup.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/veripost-test.XXXXXX")
chmod 755 "$WORK" # the postgres user must reach its data directory below
mkdir -p "$WORK/logs"
PG_DATA="$WORK/pgdata"
PG_STARTED=0
WEED_PID=
WEED_BUILD_PID=
WEED_SOCKETS=()

pg_as() { # run a PostgreSQL command as the cluster's owner
	if [[ $IS_ROOT -eq 1 ]]; then
		(cd "$WORK" && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n "$WEED_BUILD_PID" ]] && kill -0 "$WEED_BUILD_PID" 2>/dev/null; then
		kill "$WEED_BUILD_PID" 2>/dev/null
		wait "$WEED_BUILD_PID" 2>/dev/null
	fi
	if [[ -n "$WEED_PID" ]] && kill -0 "$WEED_PID" 2>/dev/null; then
		log "stopping SeaweedFS (pid $WEED_PID)"
		kill "$WEED_PID" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$WEED_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$WEED_PID" 2>/dev/null
		wait "$WEED_PID" 2>/dev/null
		rm -f "${WEED_SOCKETS[@]}"
	fi
	if [[ $PG_STARTED -eq 1 ]]; then
		log "stopping PostgreSQL"
		if ! pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
			pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null 2>&1
		fi
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() { # show_log NAME FILE: the tail of a service log after a failure
	echo "----- last lines of $1 ($2) -----" >&2
	tail -n 60 "$2" >&2 2>/dev/null || true
	echo "----- end of $1 -----" >&2
}

# ---------------------------------------------------------------------------
# Free loopback ports (distinct within this run).
USED_PORTS=" "
port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
free_port() {
	local p
	for _ in $(seq 1 500); do
		# Below the usual ephemeral range (32768-60999) so outgoing connections
		# cannot take the port between this check and the server's bind.
		p=$((12000 + RANDOM % 20000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		port_busy "$p" && continue
		USED_PORTS+="$p "
		echo "$p"
		return 0
	done
	die "no free TCP port found"
}
wait_port() { # wait_port PORT SECONDS PID: until something listens on 127.0.0.1:PORT
	local deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		if [[ -n "${3:-}" ]] && ! kill -0 "$3" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------------------
# SeaweedFS: build the pinned weed binary once (cached), in the background.
build_weed() {
	mkdir -p "$CACHE_BIN"
	# One build at a time, across concurrent runs of this script.
	exec 9>"$CACHE_BIN/.weed-build.lock"
	flock 9
	if [[ -x "$WEED_BIN" ]]; then
		return 0
	fi
	local json dir tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/veripost-weed-src.XXXXXX")
	# Outside any module, so that nothing touches this repository's go.mod.
	json=$(cd "$tmp" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$WEED_MODULE@$WEED_VERSION")
	dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n "$dir" && -d "$dir" ]] || {
		echo "$json"
		echo "go mod download gave no module directory"
		rm -rf "$tmp"
		return 1
	}
	cp -r "$dir" "$tmp/src"
	chmod -R u+w "$tmp/src"
	# The module's go.mod has replace directives, so `go install mod@version`
	# refuses it: build inside a copy of the module instead.
	if (cd "$tmp/src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$WEED_BIN.tmp.$$" ./weed); then
		mv -f "$WEED_BIN.tmp.$$" "$WEED_BIN"
		rm -rf "$tmp"
	else
		rm -rf "$tmp" "$WEED_BIN.tmp.$$"
		return 1
	fi
}

if [[ -x "$WEED_BIN" ]]; then
	log "SeaweedFS: using cached $WEED_BIN"
else
	log "SeaweedFS: building weed $WEED_VERSION from the Go module proxy in the background (several minutes on a cold cache; log $WORK/logs/weed-build.log)"
	build_weed >"$WORK/logs/weed-build.log" 2>&1 &
	WEED_BUILD_PID=$!
fi

# ---------------------------------------------------------------------------
# System packages: PostgreSQL 15, pgvector (optional), Chromium and fonts.
APT_UPDATED=0
apt_install() { # apt_install PKG...: install with apt-get (root only)
	if [[ $IS_ROOT -ne 1 ]]; then
		warn "not root: cannot apt-get install $*"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
	if [[ $APT_UPDATED -eq 0 ]]; then
		log "apt-get update"
		local i
		for i in 1 2 3; do
			"${apt[@]}" update >"$WORK/logs/apt-update.log" 2>&1 && break
			[[ $i -eq 3 ]] && {
				show_log "apt-get update" "$WORK/logs/apt-update.log"
				return 1
			}
			sleep 5
		done
		APT_UPDATED=1
	fi
	[[ "${1:-}" == --update-only ]] && return 0
	log "apt-get install $*"
	if ! "${apt[@]}" install -y --no-install-recommends "$@" >>"$WORK/logs/apt-install.log" 2>&1; then
		tail -n 20 "$WORK/logs/apt-install.log" >&2
		return 1
	fi
}
have_pkg() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]; }

PG_BIN=
for d in "/usr/lib/postgresql/$PG_MAJOR/bin" "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
	if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
		PG_BIN=$d
		break
	fi
done
if [[ -z "$PG_BIN" ]]; then
	apt_install "postgresql-$PG_MAJOR" || die "PostgreSQL $PG_MAJOR is not installed and apt-get install postgresql-$PG_MAJOR failed"
	PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
fi
PG_VERSION=$("$PG_BIN/postgres" --version)
[[ $PG_VERSION == *" $PG_MAJOR."* ]] || warn "expected PostgreSQL $PG_MAJOR, found: $PG_VERSION"

CHROMIUM=/usr/bin/chromium
need=()
[[ -x "$CHROMIUM" ]] || need+=(chromium)
have_pkg fonts-dejavu-core || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
	apt_install "${need[@]}" || die "could not install ${need[*]} (needed for the UI tests)"
fi
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM is missing after installing chromium"

# pgvector is optional (the app must work without it): install it when apt
# offers it, judged from the package lists already on the machine (fetched
# first only when there are none), so that warm runs need no apt-get update.
PG_SHAREDIR=$("$PG_BIN/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")
PGVECTOR_PKG="postgresql-$PG_MAJOR-pgvector"
if [[ ! -f "$PG_SHAREDIR/extension/vector.control" ]]; then
	if [[ $IS_ROOT -ne 1 ]]; then
		warn "pgvector is not installed (and not root to install it); testing without it"
	else
		if [[ $APT_UPDATED -eq 0 ]] && ! compgen -G '/var/lib/apt/lists/*Packages*' >/dev/null; then
			apt_install --update-only || true
		fi
		if [[ -n $(apt-cache show "$PGVECTOR_PKG" 2>/dev/null | head -n 1) ]]; then
			apt_install "$PGVECTOR_PKG" || warn "installing $PGVECTOR_PKG failed; testing without pgvector"
		else
			warn "apt offers no $PGVECTOR_PKG; testing without pgvector"
		fi
	fi
fi

# ---------------------------------------------------------------------------
# PostgreSQL: a throw-away cluster on a free loopback port.
if [[ $IS_ROOT -eq 1 ]] && ! id postgres >/dev/null 2>&1; then
	log "creating the postgres OS user"
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
fi
PG_PORT=$(free_port)
mkdir -p "$PG_DATA" "$WORK/pgsock"
touch "$WORK/logs/postgres.log"
if [[ $IS_ROOT -eq 1 ]]; then
	chown postgres: "$PG_DATA" "$WORK/pgsock" "$WORK/logs/postgres.log"
fi
chmod 700 "$PG_DATA"
log "PostgreSQL: initdb ($PG_VERSION)"
if ! pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$WORK/logs/initdb.log" 2>&1; then
	show_log initdb "$WORK/logs/initdb.log"
	die "initdb failed"
fi
cat >>"$PG_DATA/postgresql.conf" <<EOF
# veripost test cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pgsock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
log "PostgreSQL: starting on 127.0.0.1:$PG_PORT"
if ! pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/logs/postgres.log" -w -t 60 start >"$WORK/logs/pg_ctl.log" 2>&1; then
	show_log pg_ctl "$WORK/logs/pg_ctl.log"
	show_log postgres "$WORK/logs/postgres.log"
	die "PostgreSQL did not start"
fi
PG_STARTED=1
export VERIPOST_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
PSQL="$PG_BIN/psql"
[[ -x "$PSQL" ]] || PSQL=psql
if pgv=$("$PSQL" -X -At -d "$VERIPOST_TEST_DATABASE_URL" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'" 2>>"$WORK/logs/psql.log"); then
	if [[ "$pgv" == 1 ]]; then
		export VERIPOST_TEST_PGVECTOR=1
		log "PostgreSQL: ready; pgvector is available"
	else
		export VERIPOST_TEST_PGVECTOR=0
		log "PostgreSQL: ready; pgvector is NOT available (tests run without it)"
	fi
else
	show_log psql "$WORK/logs/psql.log"
	show_log postgres "$WORK/logs/postgres.log"
	die "PostgreSQL started but does not answer queries"
fi

# ---------------------------------------------------------------------------
# Go checks while a cold weed build may still be running.
go_test_args=("$@")
vet_pkgs=()
for a in "$@"; do
	case "$a" in
	./* | ../* | . | github.com/veripost/veripost*) vet_pkgs+=("$a") ;;
	esac
done
if ((${#vet_pkgs[@]} == 0)); then
	vet_pkgs=(./...)
	go_test_args+=(./...)
fi

if [[ $MODE == test ]]; then
	log "go vet ${vet_pkgs[*]}"
	go vet "${vet_pkgs[@]}" || die "go vet found problems"

	# Files git knows (committed or staged): what CI's fresh clone has.
	log "gofmt check"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		mapfile -t gofiles < <(git ls-files -- '*.go' | grep -v '/testdata/' || true)
	else
		mapfile -t gofiles < <(find . -name '*.go' -not -path '*/testdata/*' -not -path './.git/*')
	fi
	existing=()
	for f in "${gofiles[@]}"; do [[ -f "$f" ]] && existing+=("$f"); done
	if ((${#existing[@]})); then
		unformatted=$(gofmt -l "${existing[@]}")
		if [[ -n "$unformatted" ]]; then
			echo "These files are not gofmt-formatted (run gofmt -w on them):" >&2
			echo "$unformatted" >&2
			die "gofmt check failed"
		fi
	fi
fi

# ---------------------------------------------------------------------------
# SeaweedFS: wait for the build, then start `weed mini` (master, volume, filer
# and S3 in one process) on loopback only.
if [[ -n "$WEED_BUILD_PID" ]]; then
	log "SeaweedFS: waiting for the weed build"
	if ! wait "$WEED_BUILD_PID"; then
		WEED_BUILD_PID=
		show_log "weed build" "$WORK/logs/weed-build.log"
		die "building weed failed"
	fi
	WEED_BUILD_PID=
	log "SeaweedFS: built $WEED_BIN"
fi

S3_ACCESS_KEY="vp$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
S3_SECRET_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$WORK/weed"
cat >"$WORK/s3-identities.json" <<EOF
{
  "identities": [
    {
      "name": "veripost-test",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
S3_PORT=$(free_port)
mkdir -p "$WORK/logs/weed"
# weed mini puts a unix socket per gRPC port in /tmp; cleanup removes ours.
for svc in master volume filer s3 admin; do
	p=$(free_port)
	printf -v "GRPC_${svc}" '%s' "$p"
	WEED_SOCKETS+=("/tmp/seaweedfs-$svc-grpc-$p.sock")
done
weed_args=(
	-logdir="$WORK/logs/weed"
	mini -dir="$WORK/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1
	-master.port="$(free_port)" -master.port.grpc="$GRPC_master"
	-volume.port="$(free_port)" -volume.port.grpc="$GRPC_volume"
	-filer.port="$(free_port)" -filer.port.grpc="$GRPC_filer"
	-s3.port="$S3_PORT" -s3.port.grpc="$GRPC_s3"
	-admin.port="$(free_port)" -admin.port.grpc="$GRPC_admin" -admin.port.legacy=0 -admin.ui=false
	-filer.localSocket="$WORK/filer.sock" -s3.localSocket="$WORK/s3.sock"
	-s3.config="$WORK/s3-identities.json" -s3.iam=false -s3.port.iceberg=0 -s3.port.lance=0
	-webdav=false -master.telemetry=false
)
log "SeaweedFS: starting S3 on 127.0.0.1:$S3_PORT"
(cd "$WORK/weed" && exec env -u SENTRY_DSN "$WEED_BIN" "${weed_args[@]}") </dev/null >"$WORK/logs/weed.log" 2>&1 &
WEED_PID=$!
if ! wait_port "$S3_PORT" 120 "$WEED_PID"; then
	show_log weed "$WORK/logs/weed.log"
	die "SeaweedFS S3 did not come up on port $S3_PORT"
fi
# Listening is not yet serving: wait for a signed-request answer (403 for an
# anonymous request means the S3 gateway and its filer are up).
for _ in $(seq 1 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" 2>/dev/null || true)
	[[ $code =~ ^[1-5][0-9][0-9]$ ]] && break
	sleep 0.2
done
export VERIPOST_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export VERIPOST_TEST_S3_ACCESS_KEY="$S3_ACCESS_KEY"
export VERIPOST_TEST_S3_SECRET_KEY="$S3_SECRET_KEY"
export VERIPOST_TEST_S3_REGION=us-east-1
export VERIPOST_TEST_CHROMIUM="$CHROMIUM"
export VERIPOST_REQUIRE_SERVICES=1
log "SeaweedFS: ready at $VERIPOST_TEST_S3_ENDPOINT"

env_exports() {
	local v
	for v in VERIPOST_TEST_DATABASE_URL VERIPOST_TEST_PGVECTOR VERIPOST_TEST_S3_ENDPOINT \
		VERIPOST_TEST_S3_ACCESS_KEY VERIPOST_TEST_S3_SECRET_KEY VERIPOST_TEST_S3_REGION \
		VERIPOST_TEST_CHROMIUM VERIPOST_REQUIRE_SERVICES; do
		printf "export %s='%s'\n" "$v" "${!v}"
	done
}

if [[ $MODE == services ]]; then
	env_exports >"$WORK/env.sh"
	env_exports
	log "services are up (logs in $WORK/logs). In another shell:  source $WORK/env.sh && go test ./..."
	log "press Ctrl-C (or kill $$) to stop them and delete $WORK"
	while kill -0 "$WEED_PID" 2>/dev/null; do sleep 1; done
	show_log weed "$WORK/logs/weed.log"
	die "SeaweedFS exited"
fi

# ---------------------------------------------------------------------------
log "go test -count=1 -timeout 60m ${go_test_args[*]}"
set +e
go test -count=1 -timeout 60m "${go_test_args[@]}"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
	if ! kill -0 "$WEED_PID" 2>/dev/null; then
		show_log weed "$WORK/logs/weed.log"
	fi
	die "go test failed (exit $rc) after $((SECONDS - START))s"
fi
log "all checks passed in $((SECONDS - START))s"
