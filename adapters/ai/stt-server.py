"""Long-lived faster-whisper transcription process of one worker (adapters/ai/local-whisper.ts).

Loads the model once from a folder (never by name: nothing downloads), then answers jobs
one at a time, as JSON lines over stdio:

  in:  {"id": 1, "file": "/path/to/audio"}
  out: {"event": "ready", "multilingual": false}                  once, after the model loaded
       {"id": 1, "event": "progress", "done": 12.3, "duration": 100.0}  after each segment
       {"id": 1, "event": "result", "transcription": {...verbose_json...}}
       {"id": 1, "event": "error", "kind": "bad_audio" | "failed", "message": "..."}

The transcription has the shape of OpenAI Whisper's verbose_json (text, segments with
start/end/avg_logprob, top-level words), so the caller shares the OpenAI path's parser.
Exits when stdin closes or its parent is gone, so it never outlives the worker that started it.
"""

import argparse
import json
import os
import sys
import threading
import time
import traceback


def exit_with_parent() -> None:
    """A worker killed outright (SIGKILL) cannot stop us: leave as soon as it is gone, even mid-job."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="faster-whisper model folder")
    parser.add_argument("--threads", type=int, default=0, help="CTranslate2 CPU threads (0: its default)")
    args = parser.parse_args()
    exit_with_parent()

    # stdout carries the protocol only: keep a private handle to it and send anything the
    # libraries print (Python or native code) to stderr instead.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        protocol.write(json.dumps(message, ensure_ascii=False) + "\n")
        protocol.flush()

    if not os.path.isfile(os.path.join(args.model, "model.bin")):
        # WhisperModel would take an unknown path for a model name and try to download it.
        sys.stderr.write(f"stt-server: {args.model} is not a faster-whisper model folder (no model.bin)\n")
        sys.exit(2)

    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    model = WhisperModel(
        args.model,
        device="cpu",
        compute_type="int8",
        cpu_threads=args.threads,
        num_workers=1,
        local_files_only=True,
    )
    multilingual = bool(model.model.is_multilingual)
    send({"event": "ready", "multilingual": multilingual})

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        job = json.loads(line)
        job_id = job.get("id")
        try:
            try:
                audio = decode_audio(job["file"], sampling_rate=16000)
            except Exception as err:  # PyAV: not a media file, or no audio stream
                send({"id": job_id, "event": "error", "kind": "bad_audio", "message": f"cannot decode the audio: {err}"})
                continue
            send({"id": job_id, "event": "result", "transcription": transcribe(model, audio, multilingual, job_id, send)})
        except Exception as err:
            traceback.print_exc()
            send({"id": job_id, "event": "error", "kind": "failed", "message": str(err) or type(err).__name__})


def transcribe(model, audio, multilingual: bool, job_id, send) -> dict:
    duration = len(audio) / 16000.0
    if duration == 0:
        return {"task": "transcribe", "language": "en", "duration": 0, "text": "", "segments": [], "words": []}
    segments_iter, info = model.transcribe(
        audio,
        # English-only models know one language; others detect it.
        language=None if multilingual else "en",
        word_timestamps=True,
        # Silence (much of a tour) makes Whisper invent text; voice activity detection skips it.
        vad_filter=True,
    )
    segments = []
    words = []
    for s in segments_iter:
        segments.append({
            "id": s.id,
            "seek": s.seek,
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "tokens": s.tokens,
            "temperature": s.temperature,
            "avg_logprob": s.avg_logprob,
            "compression_ratio": s.compression_ratio,
            "no_speech_prob": s.no_speech_prob,
        })
        for w in s.words or []:
            words.append({"word": w.word, "start": w.start, "end": w.end, "probability": w.probability})
        send({"id": job_id, "event": "progress", "done": min(s.end, duration), "duration": duration})
    return {
        "task": "transcribe",
        "language": info.language,
        "duration": duration,
        "text": "".join(s["text"] for s in segments).strip(),
        "segments": segments,
        "words": words,
    }


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
