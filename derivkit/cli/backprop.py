"""``derivkit backprop``: the matrix-level backpropagation of an MLP, or its generated NumPy code.

    derivkit backprop --layers 2,3,1 --activation sigmoid --loss mse
    derivkit backprop --layers 2,3,1 --activation step --no-bias --format markdown
    derivkit backprop --layers 64,32,10 --loss softmax_cross_entropy --emit-code
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_format, emit, layer_sizes

ORDER = 60

EXAMPLES = """examples:
  derivkit backprop                                        the course's 2-3-1 sigmoid network with MSE
  derivkit backprop --activation step --no-bias            what a step activation does to the gradient
  derivkit backprop --course --activation step             the slide's network with steps in both layers
  derivkit backprop --layers 4,8,3 --loss softmax_cross_entropy --format latex
  derivkit backprop --layers 64,32,10 --loss softmax_cross_entropy --emit-code > net.py
  derivkit backprop --layers 64,32,10 --loss softmax_cross_entropy --emit-code --backend jax
  derivkit backprop --param W1                             only the chain for W1
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "backprop",
        help="backpropagation through an MLP at the matrix level",
        description="Derive the gradients of an MLP's loss as matrix expressions (the chain of local factors "
        "for every weight), or print the NumPy code derivkit generates for them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--layers", type=layer_sizes, default=[2, 3, 1], metavar="2,3,1",
                        help="layer sizes from input to output (default: 2,3,1)")
    parser.add_argument("--activation", default="sigmoid",
                        help="hidden activation: sigmoid, tanh, relu, leaky_relu, step, identity (default: sigmoid)")
    parser.add_argument("--output", default=None,
                        help="output activation (default: sigmoid for mse/bce, softmax for softmax_cross_entropy)")
    parser.add_argument("--loss", default="mse",
                        help="mse, sse, l1, bce, cross_entropy, nll, softmax_cross_entropy, hinge (default: mse)")
    parser.add_argument("--no-bias", action="store_true", help="leave out the biases b1, b2, ...")
    parser.add_argument("--course", action="store_true",
                        help="the course's slide network: 2-3-1, MSE, no biases, --activation in both layers")
    parser.add_argument("--param", metavar="NAME", help="show only the chain for this parameter, e.g. W1")
    parser.add_argument("--emit-code", action="store_true",
                        help="print the generated code instead: a complete module (imports, helpers, "
                        "loss_and_grads(params, data)) that runs with only NumPy, or JAX, installed")
    parser.add_argument("--backend", default="numpy", choices=("numpy", "jax"),
                        help="the array library of --emit-code (default: numpy; jax needs JAX only to run it)")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                        help="floating point type of the generated code (default: float64)")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.nn.networks import mlp

    if args.course:
        from derivkit.nn.networks import course_network

        graph = course_network(args.activation)
    else:
        graph = mlp(args.layers, activation=args.activation, output=args.output, loss=args.loss,
                    bias=not args.no_bias)
    if args.emit_code:
        from derivkit.compile.module import module_source

        print(module_source(graph, backend=args.backend, dtype=args.dtype), end="")
        return 0
    if args.backend != "numpy":
        from derivkit.errors import InputError

        raise InputError("--backend chooses the code of --emit-code; add --emit-code")
    bp = graph.backprop()
    if args.param:
        bp = bp.only(args.param)
    emit(bp, args.format)
    return 0
