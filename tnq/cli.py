"""The ``tnq`` command: ``tnq demo`` and ``tnq run FILE.qasm``.

Every error in the input is one line on stderr, ``tnq: error: ...``, never a
traceback. Exit status: 0 success; 1 the input was rejected (a file that
cannot be read, QASM, an observable, a memory limit: any :class:`~tnq.TnqError`
or ``OSError``); 2 the command line itself is malformed (argparse's own
convention); 130 interrupted (Ctrl-C); 141 stdout closed early (``| head``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

import numpy as np

from . import __version__
from .circuit import Circuit
from .errors import CostLimitError, MemoryLimitError, QasmError, TnqError
from .program import MAX_SAMPLE_FLOPS, STRATEGIES, compile
from .qasm import MAX_OPERATIONS, from_qasm
from .qasm import MAX_QUBITS as QASM_MAX_QUBITS
from .symbols import parameters

__all__ = ["main", "demo_circuit", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 256 * 2**20
"""The largest file ``tnq run`` reads (256 MiB); larger ones are refused unread."""

_CHUNK = 2**20


def demo_circuit(n: int = 12, layers: int = 4) -> tuple[Circuit, str]:
    """The W1 hardware-efficient ansatz and its transverse-field Ising energy."""
    theta = parameters(layers * (2 * n - 1))
    c, k = Circuit(n), 0
    for q in range(n):
        c.h(q)
    for _ in range(layers):
        for i in range(n - 1):
            c.rzz(i, i + 1, theta[k])
            k += 1
        for q in range(n):
            c.rx(q, theta[k])
            k += 1
    terms = [f"Z{i} Z{i + 1}" for i in range(n - 1)] + [f"X{i}" for i in range(n)]
    return c, " + ".join(terms)


def _read_text(path: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the file at ``path``, reading at most ``limit`` bytes.

    Device files and pipes (``/dev/stdin``) are read in chunks and refused as
    soon as they pass ``limit`` bytes or show a NUL byte (``/dev/zero`` at once).
    Raises QasmError for a file too large, binary or not UTF-8, and OSError
    for one that cannot be read (missing, a directory, no permission).
    """
    too_big = f"larger than {limit:,} bytes ({limit / 2**20:g} MiB), the most tnq run reads"
    chunks: list[bytes] = []
    size = 0
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise QasmError(too_big)
        while chunk := fh.read(min(_CHUNK, limit + 1 - size)):
            if b"\0" in chunk:
                offset = size + chunk.index(b"\0")
                raise QasmError(f"binary, not OpenQASM text (a NUL byte at offset {offset})")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise QasmError(too_big)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise QasmError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, column) from None


def _demo(args: argparse.Namespace) -> None:
    circuit, ham = demo_circuit(args.qubits, args.layers)
    print(f"Variational demo: {circuit.num_qubits}-qubit hardware-efficient ansatz "
          f"({args.layers} layers of RZZ + RX, {circuit.num_params} parameters)")
    print(f"Observable: transverse-field Ising chain, {2 * args.qubits - 1} terms")
    t0 = time.perf_counter()
    program = compile(circuit, ham)
    print(f"compiled in {time.perf_counter() - t0:.3f} s\n")
    print(program.explain(), "\n")
    rng = np.random.default_rng(args.seed)
    for step in range(args.steps):
        params = rng.uniform(0, 2 * np.pi, circuit.num_params)
        t0 = time.perf_counter()
        energy = float(program(params))
        print(f"random parameters #{step}: energy = {energy:+.10f}   "
              f"({1e3 * (time.perf_counter() - t0):.1f} ms)")
    amp = complex(program.amplitude("0" * circuit.num_qubits, params))
    print(f"\namplitude <{'0' * circuit.num_qubits}|psi> = {amp:.6g}")
    shots = program.sample(5, params, seed=args.seed)
    print("5 samples:", " ".join("".join(map(str, row)) for row in shots))


def _run(args: argparse.Namespace) -> None:
    try:
        circuit = from_qasm(_read_text(args.file), max_operations=args.max_operations,
                            max_qubits=args.max_qubits)
    except QasmError as exc:
        raise QasmError(f"{args.file}: {exc}") from None
    print(f"{args.file}: {circuit.num_qubits} qubits, {len(circuit)} gates")
    program = compile(circuit, args.observable, max_memory=args.max_memory,
                      strategy=args.strategy, max_bond=args.max_bond,
                      progress=not args.no_progress)
    if args.observable:
        result = program.evaluate()
        print(f"<{args.observable}> = {float(result.value):.12g}")
        if result.fidelity is not None:
            print(f"MPS fidelity estimate: {result.fidelity:.10g}")
    for bits in args.amplitude or []:
        print(f"amplitude <{bits}|psi> = {complex(program.amplitude(bits)):.12g}")
    if args.samples:
        try:
            rows = program.sample(args.samples, seed=args.seed, max_flops=args.max_flops)
        except (CostLimitError, MemoryLimitError) as exc:
            raise type(exc)(f"{exc} (options of tnq run: --strategy mps --max-bond N, "
                            "--max-flops F, --max-memory BYTES)") from None
        keys, counts = np.unique(rows, axis=0, return_counts=True)
        for row, count in sorted(zip(keys, counts), key=lambda rc: -rc[1])[:20]:
            print(f"{''.join(map(str, row))}  {count}")
    if args.explain:
        print(program.explain())


# ------------------------------------------------------------ the command line
class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (argparse prints the usage too)."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"tnq: error: {message}{hint}\n")


def _integer(least: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``least``, else "expected <what>"."""

    def parse(text: str) -> int:
        wrong = argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        try:
            value = int(text)
        except ValueError:
            raise wrong from None
        if value < least:
            raise wrong
        return value

    return parse


def _flops(text: str) -> float:
    """An argparse type: a positive number (``1e13``)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


_positive = _integer(1, "a positive integer")
_natural = _integer(0, "a non-negative integer")


def _bits(text: str) -> str:
    if not text or set(text) - {"0", "1"}:
        raise argparse.ArgumentTypeError(f"expected a bitstring of 0s and 1s, got {text!r}")
    return text


def _parser() -> _Parser:
    parser = _Parser(prog="tnq", description="tensor-network simulation of variational "
                     "quantum circuits")
    parser.add_argument("--version", action="version", version=f"tnq {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="evaluate a built-in variational circuit")
    d.add_argument("--qubits", type=_positive, default=12)
    d.add_argument("--layers", type=_positive, default=4)
    d.add_argument("--steps", type=_positive, default=3)
    d.add_argument("--seed", type=_natural, default=0)
    r = sub.add_parser("run", help="simulate an OpenQASM 2 file",
                       description=f"Simulate an OpenQASM 2 file (at most "
                       f"{MAX_FILE_BYTES // 2**20} MiB, UTF-8).")
    r.add_argument("file")
    r.add_argument("--observable", help='Pauli sum, e.g. "Z0 Z1 + 0.5*X2"')
    r.add_argument("--amplitude", action="append", type=_bits, metavar="BITS",
                   help="bitstring, qubit 0 first (repeatable)")
    r.add_argument("--samples", type=_positive, metavar="N")
    r.add_argument("--seed", type=_natural, default=None)
    r.add_argument("--max-memory", type=_positive, default=None, help="bytes")
    r.add_argument("--strategy", default="auto", choices=STRATEGIES)
    r.add_argument("--max-bond", type=_positive, default=None,
                   help="MPS: the most singular values kept per split")
    r.add_argument("--max-flops", type=_flops, default=MAX_SAMPLE_FLOPS, metavar="F",
                   help=f"most FLOPs sampling may take (default {MAX_SAMPLE_FLOPS:g}); over "
                   "it, sampling is refused with the estimate")
    r.add_argument("--no-progress", action="store_true",
                   help="never show progress bars (shown on stderr for steps estimated "
                   "over a couple of seconds)")
    r.add_argument("--explain", action="store_true", help="print the contraction plans")
    r.add_argument("--max-operations", type=_positive, default=MAX_OPERATIONS, metavar="N",
                   help=f"most gate applications the file may expand into "
                   f"(default {MAX_OPERATIONS:,})")
    r.add_argument("--max-qubits", type=_positive, default=QASM_MAX_QUBITS, metavar="N",
                   help=f"most qubits the file may declare (default {QASM_MAX_QUBITS:,})")
    return parser


def _fail(message: str, code: int) -> int:
    """Print ``tnq: <message>`` to stderr, on one line, and return ``code``."""
    print("tnq: " + " ".join(message.splitlines()), file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tnq`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success, 1 input rejected, 2 malformed command
        line, 130 interrupted, 141 stdout closed early.
    """
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return exc.code if isinstance(exc.code, int) else 2
        (_demo if args.command == "demo" else _run)(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # the reader went away (``tnq ... | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except TnqError as exc:
        return _fail(f"error: {exc}", 1)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return _fail(f"error: {where}{exc.strerror or exc}", 1)
    except MemoryError as exc:
        return _fail(f"error: out of memory ({exc or type(exc).__name__})", 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
