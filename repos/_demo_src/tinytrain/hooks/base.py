class Hook:
    """Base class of all hooks; it is deliberately not registered itself.

    Hooks run in ascending ``priority`` order at fixed points of ``Runner.train``.
    """

    priority = 50

    def before_run(self, runner):
        pass

    def after_train_iter(self, runner):
        pass

    def after_epoch(self, runner):
        pass

    def after_run(self, runner):
        pass

    def every_n_iters(self, runner, n):
        return n > 0 and (runner.iter + 1) % n == 0
