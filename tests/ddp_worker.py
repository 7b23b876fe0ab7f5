"""Run by tests/test_distributed.py under torchrun (or alone): train a small network on fixed
data with a global batch of 16 and write this rank's weights and losses to OUT/rank<R>.pt.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py OUT EPOCHS
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from rnncast import distributed
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.training import TrainConfig, train


def main(out: Path, epochs: int) -> None:
    torch.set_num_threads(1)
    ranks = distributed.start(torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    X = torch.randn(81, 6, 1, generator=g)  # 81 windows: the last batch is one, rank 1 weighs 0
    Y = X[:, -2:-1] + 0.5 * X[:, -1:]
    Xv = torch.randn(21, 6, 1, generator=g)  # an odd number: the ranks score 11 and 10
    Yv = Xv[:, -2:-1] + 0.5 * Xv[:, -1:]
    torch.manual_seed(1)
    net = RecurrentNet(ModelConfig(units=8), 1, 1)
    history = train(net, X, Y, TrainConfig(epochs=epochs, batch_size=16, lr=0.01, seed=2),
                    validation=(Xv, Yv))
    weights = {k: v.contiguous() for k, v in net.state_dict().items()}
    weights["val_loss"] = torch.tensor(history.val_loss, dtype=torch.float64)
    weights["loss"] = torch.tensor(history.loss, dtype=torch.float64)
    save_file(weights, out / f"rank{ranks.rank}-of-{ranks.world}.safetensors")
    distributed.finish()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
