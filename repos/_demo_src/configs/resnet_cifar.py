# TinyResNet on CIFAR-10 features; compare with the MLP baseline in mlp_toy.py.
model = dict(type='TinyResNet', abbr='resnet18-cifar', depth=18, num_classes=10, stem_channels=32)
dataset = dict(type='CSVDataset', path='data/cifar10_features.csv')
train = dict(
    max_epochs=100,
    batch_size=128,
    lr=0.1,
    hooks=[dict(type='StepLrHook', base_lr=0.1, step=(50, 75), gamma=0.1)],
    metrics=['Accuracy', 'TopK'],
)
