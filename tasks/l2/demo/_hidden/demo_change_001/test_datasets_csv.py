from tinytrain.datasets import CSVDataset


def _write(tmp_path, rows):
    path = tmp_path / "data.csv"
    path.write_text("x,y,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return str(path)


def test_csv_iter(tmp_path):
    data = list(CSVDataset(_write(tmp_path, [(1, 2, 0), (3, 4, 1)])))
    assert data == [([1.0, 2.0], 0), ([3.0, 4.0], 1)]


def test_csv_len(tmp_path):
    assert len(CSVDataset(_write(tmp_path, [(1, 2, 0), (3, 4, 1), (5, 6, 0)]))) == 3


def test_csv_len_header_only(tmp_path):
    assert len(CSVDataset(_write(tmp_path, []))) == 0


def test_csv_len_matches_iteration(tmp_path):
    ds = CSVDataset(_write(tmp_path, [(i, i, i % 2) for i in range(17)]))
    assert len(ds) == len(list(ds)) == 17
