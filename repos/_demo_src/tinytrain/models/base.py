class BaseModel:
    """Models turn a batch into a dict of losses (train) or predictions (eval)."""

    def __init__(self, init_cfg=None):
        self.init_cfg = init_cfg
        self.training = True

    def train_step(self, batch):
        raise NotImplementedError

    def predict(self, inputs):
        raise NotImplementedError
