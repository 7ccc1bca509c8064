"""The half of the GPU check that runs on the device: train with the prepared plan, check the handoff.

    python scripts/gpu_check.py --dir .device --device cuda --report $OUT/report.json

Run by `scripts/gpu-check.sh run` with the carried wheels (epochplan, polars) on PYTHONPATH and the
image's torch and transformers. Reads what scripts/gpu_prepare.py wrote into --dir, re-audits
train.parquet with the installed wheel and requires the very plan prepared here, then trains a
small GPT-2 built from a config (no downloaded weights; bytes are the tokens) twice:

1. a plain PyTorch loop: DataLoader + ClusterSampler, build_scheduler, EarlyStopping.from_plan;
2. the transformers Trainer with TrainingArguments(**plan.to_hf()) and plan.hf_callbacks(),
   drawing its rows with the same ClusterSampler.

bf16 autocast on CUDA, fp32 on CPU. Checks: optimizer steps == plan.total_steps, the LR reaches
its final value (0) at the last step and not before, evaluations and checkpoints land on the
planned steps, each cluster is seen once per epoch. Writes a JSON report (device, tokens/s, peak
memory, steps planned vs run, final LR, every check) even when a check fails; exits 1 then.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import torch
import transformers
from torch.utils.data import DataLoader
from transformers import GPT2Config, GPT2LMHeadModel, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

import epochplan
from epochplan.torch import ClusterSampler, EarlyStopping, build_scheduler

REPO = Path(__file__).resolve().parent.parent
REPORT_SCHEMA = "epochplan.gpu_check/1"
PAD, EOS = 256, 257  # bytes are tokens 0..255
MODELS = {  # GPT-2 shapes: tiny keeps the CPU run short, small gives the GPU some work
    "tiny": {"n_layer": 2, "n_embd": 64, "n_head": 2},
    "small": {"n_layer": 4, "n_embd": 256, "n_head": 4},
}
# Peak LR per shape. The check needs the whole planned run, so early stopping must not fire: at
# 1e-3 the small model overfits the 272 unique texts (CPU fp32: eval loss rose for 4 evaluations,
# stopped at step 30 of 36); at 3e-4 its eval loss falls at every evaluation, as the tiny one's does at 1e-3.
PEAK_LR = {"tiny": 1e-3, "small": 3e-4}
EVAL_BATCH = 64


# --- Data -------------------------------------------------------------------------------------
def encode(text: str, seq_len: int) -> list[int]:
    return list(text.encode("utf-8")[: seq_len - 1]) + [EOS]


class Collate:
    """Right-pads a batch of byte sequences; `seen` (if given) records the rows drawn."""

    def __init__(self, seen: list[int] | None = None) -> None:
        self.seen = seen

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        if self.seen is not None:
            self.seen.extend(item["row"] for item in items)
        longest = max(len(item["input_ids"]) for item in items)
        ids = torch.full((len(items), longest), PAD, dtype=torch.long)
        for i, item in enumerate(items):
            ids[i, : len(item["input_ids"])] = torch.tensor(item["input_ids"])
        mask = ids != PAD
        return {"input_ids": ids, "attention_mask": mask.long(), "labels": ids.masked_fill(~mask, -100)}


def load_rows(path: Path, seq_len: int) -> list[dict]:
    texts = pl.read_parquet(path, columns=["text"]).get_column("text").to_list()
    return [{"input_ids": encode(t, seq_len), "row": i} for i, t in enumerate(texts)]


def new_model(size: str, seq_len: int) -> GPT2LMHeadModel:
    torch.manual_seed(0)  # both runs start from the same weights
    config = GPT2Config(
        vocab_size=EOS + 1,
        n_positions=seq_len,
        bos_token_id=EOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        **MODELS[size],
    )
    return GPT2LMHeadModel(config)


# --- Measuring --------------------------------------------------------------------------------
class Clock:
    """Seconds spent inside optimizer-step windows (forward, backward, optimizer), GPU-synchronised."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.seconds, self.started = device, 0.0, None

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def start(self) -> None:
        if self.started is None:
            self._sync()
            self.started = time.perf_counter()

    def stop(self) -> None:
        if self.started is not None:
            self._sync()
            self.seconds += time.perf_counter() - self.started
            self.started = None


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"peak_gpu_memory_bytes": torch.cuda.max_memory_allocated(device)}
    # ru_maxrss is KiB on Linux and never resets: the process's peak so far.
    return {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def autocast(device: torch.device):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def warm_up(rows: list[dict], device: torch.device, size: str, seq_len: int) -> None:
    """One untimed forward/backward on a throwaway model: kernel selection, allocator and lazy
    initialisation would otherwise be billed to whichever run comes first."""
    model = new_model(size, seq_len).to(device)
    batch = {k: v.to(device) for k, v in Collate()(rows[:EVAL_BATCH]).items()}
    with autocast(device):
        loss = model(**batch).loss
    loss.backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def linear_lr_trace(plan, lr: float) -> list[float]:
    """The LR after each optimizer step under build_scheduler(kind="linear") (what HF's own
    linear schedule must match)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = build_scheduler(optimizer, plan, kind="linear")
    trace = []
    for _ in range(plan.total_steps):
        optimizer.step()
        scheduler.step()
        trace.append(scheduler.get_last_lr()[0])
    return trace


def multiples(every: int, total: int) -> list[int]:
    return list(range(every, total + 1, every))


# --- 1. Plain PyTorch loop --------------------------------------------------------------------
@torch.no_grad()
def evaluate(model, loader: DataLoader, device: torch.device) -> float:
    model.eval()
    total = tokens = 0.0
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device):
            loss = model(**batch).loss
        count = float((batch["labels"][:, 1:] != -100).sum())  # GPT-2 shifts: the first token is never a target
        total, tokens = total + float(loss) * count, tokens + count
    model.train()
    return total / max(tokens, 1.0)


def run_torch_loop(plan, result, train_rows, eval_rows, device, size, seq_len, workdir: Path) -> dict:
    model = new_model(size, seq_len).to(device)
    sampler = ClusterSampler(result, seed=0)
    seen: list[int] = []
    pin = device.type == "cuda"
    loader = DataLoader(train_rows, batch_size=plan.batch, sampler=sampler, collate_fn=Collate(seen), pin_memory=pin)
    eval_loader = DataLoader(eval_rows, batch_size=EVAL_BATCH, collate_fn=Collate(), pin_memory=pin)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR[size], weight_decay=0.0)
    optimizer_steps = [0]
    optimizer.register_step_post_hook(lambda *_: optimizer_steps.__setitem__(0, optimizer_steps[0] + 1))
    scheduler = build_scheduler(optimizer, plan, kind="linear")
    stopper = EarlyStopping.from_plan(plan)
    accum, clock = plan.setup.grad_accum, Clock(device)
    lrs, evals, saves, eval_losses, epoch_rows = [], [], [], [], []
    steps = tokens = epoch = 0
    stopped = False
    reset_peak_memory(device)
    started = time.perf_counter()
    while steps < plan.total_steps and not stopped:
        sampler.set_epoch(epoch)
        seen.clear()
        batches = len(loader)
        for i, batch in enumerate(loader):
            clock.start()
            window = min(accum, batches - (i // accum) * accum)  # the epoch's last window may be partial
            tokens += int(batch["attention_mask"].sum())  # counted on the host: no GPU sync
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with autocast(device):
                loss = model(**batch).loss
            (loss / window).backward()
            if (i + 1) % accum and i + 1 < batches:
                continue
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            clock.stop()
            steps += 1
            lrs.append(scheduler.get_last_lr()[0])
            if steps % plan.eval_steps == 0:
                evals.append(steps)
                eval_losses.append(evaluate(model, eval_loader, device))
                stopped = stopper.step(eval_losses[-1]) and steps < plan.total_steps
            if steps % plan.save_steps == 0:
                saves.append(steps)
                torch.save(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "early_stopping": stopper.state_dict(),
                    },
                    workdir / "last.pt",
                )
            if stopped or steps == plan.total_steps:
                break
        epoch_rows.append(sorted(seen))
        epoch += 1
    wall = time.perf_counter() - started
    return {
        "optimizer_steps": optimizer_steps[0],
        "loop_steps": steps,
        "planned_steps": plan.total_steps,
        "lrs": lrs,
        "eval_steps_run": evals,
        "save_steps_run": saves,
        "early_stopped": stopped,
        "eval_losses": [round(x, 4) for x in eval_losses],
        "epochs_run": epoch,
        "epoch_rows": epoch_rows,
        "representatives": sorted(sampler.representatives.tolist()),
        "train_tokens": tokens,
        "step_seconds": clock.seconds,
        "wall_seconds": wall,
        **peak_memory(device),
    }


# --- 2. transformers Trainer ------------------------------------------------------------------
class PlanTrainer(Trainer):
    """The Trainer drawing rows with epochplan's ClusterSampler, counting the tokens it trains on."""

    def __init__(self, *args, cluster_sampler: ClusterSampler, **kwargs) -> None:
        self.cluster_sampler, self.token_count = cluster_sampler, 0
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, *args, **kwargs):
        return self.cluster_sampler

    def training_step(self, model, inputs, *args, **kwargs):
        # A running tensor (read once at the end): int() here would sync the GPU every micro-batch.
        self.token_count = self.token_count + inputs["attention_mask"].sum()
        return super().training_step(model, inputs, *args, **kwargs)


class Recorder(TrainerCallback):
    """What the Trainer really did: optimizer steps, LR after each, evaluation and save steps."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.optimizer_steps = clock, 0
        self.lrs: list[float] = []
        self.evals: list[int] = []
        self.saves: list[int] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.clock.start()

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.optimizer_steps += 1

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        self.clock.stop()
        self.lrs.append(lr_scheduler.get_last_lr()[0])

    def on_evaluate(self, args, state, control, **kwargs):
        self.evals.append(state.global_step)

    def on_save(self, args, state, control, **kwargs):
        self.saves.append(state.global_step)


def run_hf_trainer(plan, result, train_rows, eval_rows, device, size, seq_len, workdir: Path) -> dict:
    cuda = device.type == "cuda"
    hf = plan.to_hf()
    args = TrainingArguments(
        output_dir=str(workdir / "hf"),
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        seed=0,
        learning_rate=PEAK_LR[size],
        weight_decay=0.0,
        lr_scheduler_type="linear",
        per_device_eval_batch_size=EVAL_BATCH,
        remove_unused_columns=False,
        bf16=cuda,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        **hf,
    )
    clock = Clock(device)
    recorder = Recorder(clock)
    # accelerate deals whole batches to processes: the sampler must not shard as well.
    sampler = ClusterSampler(result, seed=0, num_replicas=1, rank=0)
    trainer = PlanTrainer(
        model=new_model(size, seq_len),
        args=args,
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=Collate(),
        callbacks=[recorder, *plan.hf_callbacks()],
        cluster_sampler=sampler,
    )
    trainer.remove_callback(PrinterCallback)  # with disable_tqdm it prints every log line
    reset_peak_memory(device)
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    # transformers divides the eval loss by all label tokens, the first (never a target) too:
    # a few per cent below the loop's figure for the same model.
    losses = [log["eval_loss"] for log in trainer.state.log_history if "eval_loss" in log]
    return {
        "to_hf": hf,
        "optimizer_steps": recorder.optimizer_steps,
        "loop_steps": trainer.state.global_step,
        "trainer_max_steps": trainer.state.max_steps,
        "planned_steps": plan.total_steps,
        "lrs": recorder.lrs,
        "eval_steps_run": recorder.evals,
        "save_steps_run": recorder.saves,
        "early_stopped": trainer.state.global_step < plan.total_steps,
        "eval_losses": [round(x, 4) for x in losses],
        "train_tokens": int(trainer.token_count),
        "step_seconds": clock.seconds,
        "wall_seconds": wall,
        **peak_memory(device),
    }


# --- Checks and report ------------------------------------------------------------------------
class Checks:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def expect(self, name: str, actual, expected) -> bool:
        ok = actual == expected
        self.items.append({"check": name, "ok": ok, "actual": actual, "expected": expected})
        return ok

    @property
    def ok(self) -> bool:
        return all(item["ok"] for item in self.items)


def check_run(checks: Checks, name: str, run: dict, plan) -> None:
    total = plan.total_steps
    checks.expect(f"{name}: optimizer steps == plan.total_steps", run["optimizer_steps"], total)
    checks.expect(f"{name}: training steps == plan.total_steps", run["loop_steps"], total)
    checks.expect(f"{name}: not stopped early (the step check needs the whole run)", run["early_stopped"], False)
    lrs = run["lrs"]
    checks.expect(f"{name}: LR at the last step is the schedule's final value", lrs[-1] if lrs else None, 0.0)
    checks.expect(f"{name}: LR above its final value before the last step", bool(len(lrs) >= 2 and lrs[-2] > 0.0), True)
    checks.expect(f"{name}: evaluations on the planned steps", run["eval_steps_run"], multiples(plan.eval_steps, total))
    planned_saves = multiples(plan.save_steps, total)
    # transformers also saves when training ends; nothing else may be saved off the plan.
    saves = [s for s in run["save_steps_run"] if not (s == total and s not in planned_saves)]
    checks.expect(f"{name}: checkpoints on the planned steps", saves, planned_saves)


def summarise(run: dict) -> dict:
    out = {k: v for k, v in run.items() if k not in ("lrs", "epoch_rows", "representatives")}
    out["final_lr"] = run["lrs"][-1] if run["lrs"] else None
    out["peak_lr"] = max(run["lrs"], default=None)
    out["tokens_per_second"] = round(run["train_tokens"] / run["step_seconds"], 1) if run["step_seconds"] else None
    return out


def device_facts(device: torch.device) -> dict:
    if device.type != "cuda":
        return {
            "type": "cpu",
            "name": "cpu",
            "processor": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "precision": "fp32",
        }
    props = torch.cuda.get_device_properties(device)
    return {
        "type": "cuda",
        "name": torch.cuda.get_device_name(device),
        "capability": f"{props.major}.{props.minor}",
        "memory_bytes": props.total_memory,
        "cuda": torch.version.cuda,
        "precision": "bf16 autocast",
    }


def write_report(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=REPO / ".device", help="what gpu_prepare.py wrote (default .device)")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--report", type=Path, help="report path (default: $OUT/report.json when OUT is set, else DIR/report.json)")
    p.add_argument("--model", choices=sorted(MODELS), help="GPT-2 shape (default: small on cuda, tiny on cpu)")
    p.add_argument("--seq-len", type=int, default=128, help="bytes per text, EOS included (default 128)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: the tiny model gains nothing from more)")
    args = p.parse_args(argv)
    report_path = args.report or (Path(os.environ["OUT"]) / "report.json" if os.environ.get("OUT") else args.dir / "report.json")
    size = args.model or ("small" if args.device == "cuda" else "tiny")
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    checks = Checks()
    report: dict = {
        "schema": REPORT_SCHEMA,
        "model": {
            "kind": "GPT-2 from config, byte tokens",
            "size": size,
            **MODELS[size],
            "seq_len": args.seq_len,
            "peak_lr": PEAK_LR[size],
        },
        "host": {"python": platform.python_version(), "glibc": "-".join(platform.libc_ver()), "machine": platform.machine()},
        "versions": {
            "epochplan": epochplan.__version__,
            "epochplan_file": epochplan.__file__,
            "polars": pl.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "checks": checks.items,
    }
    checks.expect(
        "epochplan imported from the installed wheel, not the source tree",
        Path(epochplan.__file__).resolve().is_relative_to(REPO / "python"),
        False,
    )
    if args.device == "cuda" and not checks.expect("CUDA available", torch.cuda.is_available(), True):
        return finish(report, checks, report_path)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    report["device"] = device_facts(device)

    # The plan travelled as JSON; the wheel here must compute the very same one from the same file.
    result = epochplan.audit(args.dir / "train.parquet", text="text")
    plans = {}
    for name in ("plan.json", "plan-hf.json"):
        prepared = json.loads((args.dir / name).read_text())
        plans[name] = epochplan.plan(result, epochplan.Setup(**prepared["setup"]))
        checks.expect(f"{name}: the plan recomputed here equals the prepared one", json.loads(plans[name].to_json()) == prepared, True)
    plan, plan_hf = plans["plan.json"], plans["plan-hf.json"]
    report["prepare"] = json.loads((args.dir / "prepare.json").read_text())
    report["plan"] = {
        k: plan.to_torch()[k]
        for k in (
            "total_steps",
            "steps_per_epoch",
            "warmup_steps",
            "eval_every_steps",
            "save_every_steps",
            "early_stopping_patience",
            "epochs",
            "batch_size",
            "grad_accum",
            "samples_per_epoch",
        )
    }
    if not checks.ok:
        return finish(report, checks, report_path)

    train_rows, eval_rows = load_rows(args.dir / "train.parquet", args.seq_len), load_rows(args.dir / "eval.parquet", args.seq_len)
    report["model"]["parameters"] = sum(t.numel() for t in new_model(size, args.seq_len).parameters())
    warm_up(train_rows, device, size, args.seq_len)
    with tempfile.TemporaryDirectory(prefix="epochplan-gpu-check-") as tmp:
        loop = run_torch_loop(plan, result, train_rows, eval_rows, device, size, args.seq_len, Path(tmp))
        check_run(checks, "torch loop", loop, plan)
        checks.expect(
            "torch loop: each cluster exactly once per epoch", all(rows == loop["representatives"] for rows in loop["epoch_rows"]), True
        )
        report["torch_loop"] = summarise(loop)
        hf = run_hf_trainer(plan_hf, result, train_rows, eval_rows, device, size, args.seq_len, Path(tmp))
    checks.expect("hf trainer: Trainer.state.max_steps == plan.total_steps", hf["trainer_max_steps"], plan_hf.total_steps)
    check_run(checks, "hf trainer", hf, plan_hf)
    expected = linear_lr_trace(plan_hf, PEAK_LR[size])
    checks.expect(
        "hf trainer: LR after every step == build_scheduler(kind='linear')",
        len(hf["lrs"]) == len(expected) and all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(hf["lrs"], expected)),
        True,
    )
    # Same sampler, same seed: both runs must have trained on exactly the same rows.
    checks.expect("hf trainer: trained on the same tokens as the torch loop", hf["train_tokens"], loop["train_tokens"])
    report["hf_trainer"] = summarise(hf)
    return finish(report, checks, report_path)


def finish(report: dict, checks: Checks, path: Path) -> int:
    report["ok"] = checks.ok
    write_report(path, report)
    for item in checks.items:
        print(
            f"{'ok  ' if item['ok'] else 'FAIL'} {item['check']}"
            + ("" if item["ok"] else f": got {item['actual']!r}, expected {item['expected']!r}")
        )
    for name in ("torch_loop", "hf_trainer"):
        run = report.get(name)
        if run:
            memory = run.get("peak_gpu_memory_bytes", run.get("peak_rss_bytes"))
            print(
                f"{name}: {run['optimizer_steps']}/{run['planned_steps']} optimizer steps, final lr {run['final_lr']}, "
                f"{run['tokens_per_second']} tokens/s, peak memory {memory / 2**20:.0f} MiB, wall {run['wall_seconds']:.1f} s"
            )
    print(f"gpu-check: {'passed' if checks.ok else 'FAILED'} on {report.get('device', {}).get('name', '?')}; report {path}")
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
