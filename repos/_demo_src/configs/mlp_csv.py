# Same MLP as mlp_toy.py, trained on a CSV export.
model = dict(type='MLP', abbr='mlp-csv', in_channels=8, hidden_channels=(128,), num_classes=3, dropout=0.1)
dataset = dict(type='CSVDataset', path='data/train.csv', label_column='label')
train = dict(
    max_epochs=30,
    lr=0.02,
    hooks=[dict(type='CheckpointHook', interval=5, max_keep_ckpts=3), dict(type='TextLogger', interval=20)],
    metrics=['Accuracy', 'MacroF1Score'],
)
