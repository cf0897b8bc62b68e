"""Train stage: losses, GradCache, the training loop, query-only mode, multi-process."""
