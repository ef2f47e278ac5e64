import tnq
from tnq.cli import main


def test_demo_prints_energies(capsys):
    assert main(["demo", "--qubits", "6", "--layers", "2", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("energy = ") == 2 and "plan" in out and "5 samples:" in out


def test_run_qasm_file(tmp_path, capsys):
    f = tmp_path / "bell.qasm"
    f.write_text(tnq.to_qasm(tnq.Circuit(2).h(0).cx(0, 1)))
    code = main(["run", str(f), "--observable", "Z0 Z1 + X0", "--amplitude", "11",
                 "--samples", "50", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "<Z0 Z1 + X0> = 1" in out and "amplitude <11|psi> = 0.707106781187" in out
    assert "00  " in out and "11  " in out and "01  " not in out


def test_run_reports_errors_cleanly(tmp_path, capsys):
    f = tmp_path / "bad.qasm"
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[3];\n')
    assert main(["run", str(f)]) == 1
    assert "bad.qasm: line 4, column 5: index 3 is out of range" in capsys.readouterr().err


def test_run_with_the_mps_strategy(tmp_path, capsys):
    c = tnq.Circuit(30).h(0)
    for q in range(29):
        c.cx(q, q + 1)
    f = tmp_path / "ghz.qasm"
    f.write_text(tnq.to_qasm(c))
    code = main(["run", str(f), "--observable", "Z0 Z29 + X0", "--strategy", "mps",
                 "--max-bond", "4", "--amplitude", "1" * 30, "--samples", "20", "--seed", "2",
                 "--explain"])
    out = capsys.readouterr().out
    assert code == 0
    assert "<Z0 Z29 + X0> = 1" in out and "MPS fidelity estimate: 1" in out
    assert f"amplitude <{'1' * 30}|psi> = 0.707106781187" in out
    assert "strategy: mps (requested)" in out
    assert main(["run", str(f), "--strategy", "mps", "--max-bond", "0"]) == 2
    assert "--max-bond: expected a positive integer, got '0'" in capsys.readouterr().err
