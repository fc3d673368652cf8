"""The training engine of the neural families: batching, optimizers, schedules, the loop, checkpoints, metrics.

:func:`lmlab.lm.models.task.train_neural` is the trainer every neural family registers; the recipe it follows is the
family's config, an extension of :class:`lmlab.lm.config.TrainConfig`. Submodules are imported where used, so
that importing the package costs nothing.
"""
