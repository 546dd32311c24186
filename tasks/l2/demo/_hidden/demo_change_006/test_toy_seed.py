from tinytrain.datasets import ToyDataset


def test_seed_zero_unchanged():
    data = list(ToyDataset(num_samples=3, num_features=2, seed=0))
    assert data == [([0.0, 1.0], 0), ([2.0, 3.0], 1), ([4.0, 0.0], 0)]


def test_same_seed_same_samples():
    assert list(ToyDataset(num_samples=20, seed=3)) == list(ToyDataset(num_samples=20, seed=3))


def test_seeds_differ():
    samples = [list(ToyDataset(num_samples=20, seed=s)) for s in (0, 1, 2)]
    assert samples[0] != samples[1] and samples[1] != samples[2] and samples[0] != samples[2]


def test_length_independent_of_seed():
    assert len(list(ToyDataset(num_samples=9, seed=4))) == len(ToyDataset(num_samples=9, seed=4)) == 9
