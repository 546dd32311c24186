model = dict(type='MLP', abbr='mlp-toy', in_channels=4, hidden_channels=(64, 64), num_classes=2)
dataset = dict(type='ToyDataset', num_samples=256, num_features=4)
train = dict(max_epochs=20, batch_size=16, lr=0.05, metrics=['Accuracy', 'F1Score'])
