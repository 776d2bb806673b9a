"""The benchmark's own pieces: its bit-vector encoding agrees with the integer one, its
geometries are valid, and its command line refuses unknown sections."""

import pytest

from modelcheck import bench


def test_bitvector_and_integer_encodings_answer_alike():
    # the comparison in docs/performance.md is between encodings that give the same answers
    r = bench.bench_bitvectors(repeat=1, quick=True)
    assert r["rows"] and all(row["agree"] for row in r["rows"])
    assert any("sat" in row["int_answers"] for row in r["rows"])  # v3 is refuted, so not all unsat


@pytest.mark.parametrize("w", [16, 24, 32, 40, 48, 56, 64])
def test_word_geometries(w):
    g = bench.word_geometry(w)
    assert g.word_bits == w and g.task_size < 1 << w and g.pmd_size < g.pud_size


def test_toy_geometries_grow():
    sizes = [bench.toy_geometry(p).task_size for p in (4, 8, 4096)]
    assert sizes == sorted(sizes) and sizes[-1] < 1 << 16


def test_unknown_section(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["nope"])
    assert e.value.code == 2 and "unknown section" in capsys.readouterr().err
