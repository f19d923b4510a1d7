"""Video decode + JPEG extraction: `ingest.video` vs the `ffmpeg` CLI, side by side.

Same videos (the real fixture mp4, 340x256 @ 30 fps, replicated N times,
plus the fixture avi N/4 times), same sampling (fps filter), same
short-side scale, JPEG output, same cores, in one run:

* ours:  `actionbench run video --force` with `ingest.video`
         (fps, short-side, jpeg-quality, `parallel` = cores, 1 decoder thread
         per video); this also hashes every file and writes Parquet shards;
* ours, library only: `bench_decode` (crates/actionbench-video/examples),
         the same decode + sample + scale + JPEG, writing one .jpg file per
         frame exactly as ffmpeg does (no hashing, no Parquet);
* peer:  `ffmpeg -threads <cores> -i v -vf fps=F,scale=-2:S -q:v Q out/%06d.jpg`
         once per video (the usual frame-extraction script), and, as a
         second peer, <cores> such ffmpeg processes at once with -threads 1.

Target: ours >= 1.0x the ffmpeg CLI's frames/s.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

AB = os.environ["ACTIONBENCH_BIN"]
LIB = os.path.join(os.environ["CARGO_TARGET_DIR"], "release", "examples", "bench_decode")
WORK = os.environ["BENCH_DIR"]
N = int(os.environ.get("N", "32"))
REPEAT = int(os.environ.get("REPEAT", "3"))
FPS = os.environ.get("FPS", "10")
SHORT = int(os.environ.get("SHORT_SIDE", "128"))
QUALITY = int(os.environ.get("QUALITY", "90"))
# ffmpeg's mjpeg -q:v (2 best … 31) closest to libjpeg quality 90.
QSCALE = os.environ.get("QSCALE", "3")
CORES = int(os.environ.get("WORKERS", str(os.cpu_count() or 1)))
ENV = dict(os.environ, ACTIONBENCH_NO_PROGRESS="1")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "fixtures", "real", "video", "mmaction2")


def ffmpeg_one(src, out_dir, threads):
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-threads", str(threads), "-i", src,
         "-vf", f"fps={FPS},scale=-2:{SHORT}", "-q:v", QSCALE, "-threads", str(threads),
         os.path.join(out_dir, "%06d.jpg")],
        check=True,
    )
    return len(os.listdir(out_dir))


def main():
    if shutil.which("ffmpeg") is None:
        sys.exit("error: the `ffmpeg` CLI is missing (Debian: apt-get install ffmpeg)")
    shutil.rmtree(WORK, ignore_errors=True)
    videos_dir = os.path.join(WORK, "data", "videos")
    os.makedirs(videos_dir)
    os.makedirs(os.path.join(WORK, "pipelines"))
    videos = []
    for i in range(N):
        dst = os.path.join(videos_dir, f"mp4_{i:04d}.mp4")
        shutil.copyfile(os.path.join(FIXTURES, "test.mp4"), dst)
        videos.append(dst)
    for i in range(max(1, N // 4)):
        dst = os.path.join(videos_dir, f"avi_{i:04d}.avi")
        shutil.copyfile(os.path.join(FIXTURES, "test.avi"), dst)
        videos.append(dst)
    with open(os.path.join(WORK, "pipelines", "video.toml"), "w") as f:
        f.write('[stages.frames]\nuses = "ingest.video"\ninputs = ["data/videos"]\n'
                f'params = {{ fps = {float(FPS)}, short-side = {SHORT}, jpeg-quality = {QUALITY}, '
                f'parallel = {CORES} }}\n')
    kinds = subprocess.run([AB, "kinds"], cwd=WORK, env=ENV, capture_output=True, text=True, check=True).stdout
    if "ingest.video" not in kinds:
        sys.exit("error: ingest.video is not in this build (`actionbench kinds`)")

    print(f"{len(videos)} videos, fps={FPS}, short side {SHORT}, {CORES} cores, {REPEAT} repetitions", file=sys.stderr)
    ours, lib, seq, par = [], [], [], []
    frames_lib = 0
    frames_ours = frames_seq = frames_par = 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run([AB, "run", "video", "--force"], cwd=WORK, env=ENV, check=True, capture_output=True)
        ours.append(time.perf_counter() - start)
        frames_ours = None
        stage_dirs = [os.path.join(dp, f) for dp, _, fs in os.walk(WORK)
                      for f in fs if f == "_ingest.json"]
        if stage_dirs:
            newest = max(stage_dirs, key=os.path.getmtime)
            frames_ours = json.load(open(newest))["sampled_frames"]

        tmp = os.path.join(WORK, "lib_out")
        shutil.rmtree(tmp, ignore_errors=True)
        start = time.perf_counter()
        frames_lib = int(subprocess.run([LIB, tmp, FPS, str(SHORT), str(QUALITY), str(CORES)] + videos,
                                        check=True, capture_output=True, text=True).stdout)
        lib.append(time.perf_counter() - start)

        tmp = os.path.join(WORK, "ffmpeg_out")
        shutil.rmtree(tmp, ignore_errors=True)
        start = time.perf_counter()
        frames_seq = sum(ffmpeg_one(v, os.path.join(tmp, str(i)), CORES) for i, v in enumerate(videos))
        seq.append(time.perf_counter() - start)

        shutil.rmtree(tmp, ignore_errors=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(CORES) as pool:
            frames_par = sum(pool.map(lambda iv: ffmpeg_one(iv[1], os.path.join(tmp, str(iv[0])), 1),
                                      enumerate(videos)))
        par.append(time.perf_counter() - start)

    o, s, p = statistics.median(ours), statistics.median(seq), statistics.median(par)
    lb = statistics.median(lib)
    fo = frames_ours or frames_lib  # the stage samples exactly as the library does
    print(f"\nframes written: actionbench {frames_ours} (stage), {frames_lib} (library), ffmpeg {frames_seq} (per-video), {frames_par} (parallel)")
    print(f"{'measure':<44} {'actionbench':>14} {'peer':>14} {'ratio':>7}  peer")
    print(f"{'decode + JPEG, frames/s (median)':<44} {fo / o:>12.0f}/s {frames_seq / s:>12.0f}/s "
          f"{(fo / o) / (frames_seq / s):>6.2f}x  ffmpeg CLI per video, -threads {CORES}")
    print(f"{'':<44} {'':>14} {frames_par / p:>12.0f}/s "
          f"{(fo / o) / (frames_par / p):>6.2f}x  {CORES} ffmpeg CLIs at once, -threads 1")
    print(f"{'decode + JPEG files, library only':<44} {frames_lib / lb:>12.0f}/s {frames_seq / s:>12.0f}/s "
          f"{(frames_lib / lb) / (frames_seq / s):>6.2f}x  ffmpeg CLI per video, -threads {CORES}")
    print(f"{'':<44} {'':>14} {frames_par / p:>12.0f}/s "
          f"{(frames_lib / lb) / (frames_par / p):>6.2f}x  {CORES} ffmpeg CLIs at once, -threads 1")
    ratio = (fo / o) / (frames_seq / s)
    print(f"\ntarget: >= 1.0x the ffmpeg CLI (per video, -threads {CORES}): {'met' if ratio >= 1.0 else 'MISSED'} "
          f"({ratio:.2f}x)")


if __name__ == "__main__":
    main()
