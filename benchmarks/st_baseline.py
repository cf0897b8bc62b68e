"""The peer baseline of `quality.py`: InfoNCE fine-tuning by sentence-transformers itself.

Trains with sentence-transformers' own ``SentenceTransformerTrainer`` and
``MultipleNegativesRankingLoss`` (in-batch negatives plus one mined hard negative per
query) on the same lists corpusfit trains on: anchor = synthetic query, positive =
its source passage (the teacher's top passage), negative = the best-ranked listed
passage whose teacher score is below ``0.6 x`` the top score, i.e. the same
false-negative rule corpusfit's InfoNCE uses. Nothing here is corpusfit code
except reading the lists.
"""

from __future__ import annotations

from pathlib import Path


def triplets(lists, corpus: dict, negatives: int = 1, ratio: float = 0.6) -> dict[str, list]:
    """Columns ``anchor``, ``positive``, ``negative_1..k`` from training lists."""
    cols: dict[str, list] = {"anchor": [], "positive": []}
    for i in range(negatives):
        cols[f"negative_{i + 1}"] = []
    for tl in lists:
        top = max(tl.scores)
        negs = [d for d, s in zip(tl.doc_ids, tl.scores) if s < ratio * top and d != tl.source_id]
        if len(negs) < negatives:
            continue
        cols["anchor"].append(tl.query)
        cols["positive"].append(corpus[tl.source_id].full_text())
        for i in range(negatives):
            cols[f"negative_{i + 1}"].append(corpus[negs[i]].full_text())
    return cols


def train_mnrl(model_path: str, lists, corpus: dict, out: Path, *, seed: int, epochs: int = 3,
               batch_size: int = 32, lr: float = 2e-5, negatives: int = 1) -> dict:
    """Fine-tune ``model_path`` with sentence-transformers' trainer; save to ``out``."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )
    from sentence_transformers.training_args import BatchSamplers

    data = triplets(lists, corpus, negatives)
    model = SentenceTransformer(model_path, device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "_trainer"), num_train_epochs=epochs,
        per_device_train_batch_size=batch_size, learning_rate=lr, warmup_ratio=0.1,
        seed=seed, batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no",
        logging_steps=5, report_to="none", use_cpu=True, disable_tqdm=True)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(data),
        loss=losses.MultipleNegativesRankingLoss(model))
    result = trainer.train()
    model.save(str(out))
    return {"train_queries": len(data["anchor"]), "steps": result.global_step,
            "train_loss": result.training_loss}
