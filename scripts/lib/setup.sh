# Installs what the build and the tests need, only when missing (idempotent,
# quiet). Sourced by scripts/test, scripts/demo and scripts/bench.

# Debian packages: pkg-config and libclang for ffmpeg-sys-next's build
# script, the FFmpeg (libav*) development files it links against.
ACTIONBENCH_APT_PACKAGES=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev libswscale-dev libswresample-dev
  # leaderboard report: the plots' font, and headless Chromium for the page test
  fonts-dejavu-core chromium
  # ffprobe reads the generator's mp4 files in the interop tests (crates/actionbench-synth/tests/it/python.rs)
  ffmpeg
  # a one-node SLURM cluster for `run --executor slurm` (scripts/lib/slurm-cluster, crates/actionbench-cli/tests/it/slurm.rs)
  slurmctld slurmd slurm-client munge
)

ab_apt_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

ab_install_apt() {
  local missing
  missing=$(ab_apt_missing "$@")
  [ -z "$missing" ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing Debian packages: $missing" >&2
  $sudo apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Python packages the tests use (scripts/requirements-test.txt), installed
# only when one is missing.
ab_install_python() {
  local req="$1"
  local wanted
  wanted=$(grep -v '^\s*#' "$req" | grep -v '^\s*$' || true)
  [ -z "$wanted" ] && return 0
  if ! python3 - "$req" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
import re
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line:
        continue
    name = re.split(r'[<>=!~\[ ]', line)[0]
    md.version(name)
PY
  then
    echo "setup: installing Python test packages from $req" >&2
    python3 -m pip install --quiet --disable-pip-version-check -r "$req"
  fi
}

ab_setup() {
  ab_install_apt "${ACTIONBENCH_APT_PACKAGES[@]}"
  ab_install_python "$(dirname "${BASH_SOURCE[0]}")/../requirements-test.txt"
  # CI keeps its cargo target dir outside the clone, so fresh clones reuse
  # earlier builds.
  if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/actionbench/target"
    # Incremental caches double the debug target's size (about 12 GB) and
    # buy a one-shot CI build nothing; its disk is shared with the session.
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
  fi
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"
}

# Says what a build will do and how long a cold one takes on this machine,
# before cargo's own progress: a silent 35-minute build looks hung. The
# two-core times are measured (a cold release build of the demo's binaries
# about 35 minutes, a cold debug build of every test about 26); more cores
# divide them, roughly.
ab_announce_build() {
  local what="$1" marker="$2" minutes_on_two="$3"
  local cores estimate
  cores=$(nproc 2>/dev/null || echo 2)
  if [ -e "$marker" ]; then
    echo "==> $what: an incremental build (seconds to a few minutes)" >&2
  else
    estimate=$(( (minutes_on_two * 2 + cores - 1) / cores ))
    [ "$estimate" -lt 5 ] && estimate=5
    echo "==> $what: a cold build, about $estimate minutes on this machine's $cores cores ($minutes_on_two on 2); cargo's progress follows" >&2
  fi
}

# The release build that scripts/demo and scripts/bench share: one package
# set resolves one set of features, so DataFusion and Burn build once.
ab_build_release() {
  ab_announce_build "cargo build --release (actionbench, actionbench-ffmpeg, benchmark examples)" \
    "$CARGO_TARGET_DIR/release/actionbench" 35
  cargo build --release --locked -p actionbench-cli -p actionbench-ffmpeg -p actionbench-shards -p actionbench-sql \
    -p actionbench-video -p actionbench-loader -p actionbench-train -p actionbench-py --lib --bins --examples
}
