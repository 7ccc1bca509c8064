"""Where each planning rule comes from: the published source, quoted in every rationale entry."""

SRC_MUENNIGHOFF = (
    "Muennighoff et al. 2023, Scaling Data-Constrained Language Models (arXiv:2305.16264): "
    "D' = U + U*R*(1 - exp(-R/R*)), R = epochs - 1, R* = 15.39"
)
SRC_CHINCHILLA = (
    "Hoffmann et al. 2022 (Chinchilla, arXiv:2203.15556); Besiroglu et al. 2024 replication: ~20 tokens per parameter is compute-optimal"
)
SRC_OPENAI = (
    "OpenAI cookbook, examples/Chat_finetuning_data_prep.ipynb: TARGET_EPOCHS = 3, examples x epochs in [100, 25 000], epochs in [1, 25]"
)
SRC_LIMA = "Zhou et al. 2023, 'LIMA: Less Is More for Alignment' (1 000 examples, 15 epochs)"
SRC_RASCHKA = (
    "Raschka 2023, 'Practical Tips for Finetuning LLMs Using LoRA': a second pass over 50k Alpaca examples made the LoRA model worse"
)
SRC_CLASSIFIER = "epochplan's planning rules (README, 'Plan'): small-data classifier epoch table (practitioner consensus)"
SRC_HERNANDEZ = (
    "Hernandez et al. 2022, Scaling Laws and Interpretability of Learning from Repeated Data "
    "(arXiv:2205.10487): 0.1% of the data repeated 100x degraded an 800M model to 400M-level"
)
SRC_FLOPS = "Kaplan et al. 2020 / Hoffmann et al. 2022: training FLOPs C ~ 6 * N_params * D_tokens"
SRC_WARMUP_FT = "fine-tuning practice: 3-10% warm-up (BERT fine-tuning 10%, RoBERTa GLUE 6%); floor of 10 steps"
SRC_WARMUP_PT = "Devlin et al. 2019 (BERT): 10 000 warm-up steps of 1 M = 1%; floor of 10 steps"
SRC_EVAL = "epochplan's planning rules (README, 'Plan'): evaluate 10-30 times per run and at least once per epoch"
SRC_SAVE = "transformers TrainingArguments: load_best_model_at_end needs save_steps a multiple of eval_steps"
SRC_PATIENCE = "early stopping counted in evaluations (HF EarlyStoppingCallback, Lightning EarlyStopping)"
SRC_AUDIT = "epochplan audit (schema epochplan.audit/1)"
SRC_FFD = (
    "first-fit-decreasing bin packing simulated on a synthetic length sample rebuilt from the audit's "
    "length quantiles (p50/p90/p99/max; lower half fitted to the mean), not on the real lengths"
)
SRC_FFD_TABLE = (
    "first-fit-decreasing bin packing (Johnson 1973; longer samples split into full sequences and a rest) "
    "of the audit's exact token-length table of the unique samples (lengths.tokens.unique_lengths)"
)
SRC_ARITH = "S * B = N * E (optimizer steps x global batch = samples x epochs)"
SRC_HF = (
    "transformers 5.x trainer.py Trainer.set_initial_training_values: num_update_steps_per_epoch = "
    "len_dataloader // grad_accum + int(len_dataloader % grad_accum > 0), max_steps = "
    "ceil(epochs * that); data parallel by accelerate data_loader.py BatchSamplerShard "
    "(even_batches: ceil(batches / processes))"
)
SRC_LIGHTNING = (
    "pytorch_lightning trainer.py estimated_stepping_batches = ceil(num_training_batches / "
    "accumulate_grad_batches) * max_epochs; training_epoch_loop.py 'Lightning steps on the final "
    "batch'; DistributedSampler injected by connectors/data_connector.py"
)
SRC_TORCH = (
    "torch/utils/data/distributed.py DistributedSampler: num_samples = ceil(N / replicas) "
    "(ceil((N - replicas) / replicas) with drop_last); sampler.py BatchSampler.__len__; "
    "epochplan's loop convention: flush the last partial accumulation window"
)
SRC_COMPOSER = (
    "composer trainer.py _train_batch: one optimizer step per dataloader batch, split into "
    "device_train_microbatch_size micro-batches; utils/dist.py get_sampler = DistributedSampler"
)
