#!/usr/bin/python3
"""Records torch.optim.SGD (momentum 0.9, weight decay 5e-4) under Dassl's CoOp schedule
(ConstantWarmupScheduler(1 epoch at 1e-5) -> CosineAnnealingLR(T_max=max_epoch)), for
test/train/sgd.test.ts to compare src/train/coop/sgd.ts against.

The parameter follows a small quadratic problem (grad = A p - b plus a per-step wobble, in
float32), several steps per epoch as the CoOp trainer runs it: the optimiser is stepped once per
batch, the scheduler once per epoch. The gradients are recorded with the parameters, so the test
feeds the optimiser exactly PyTorch's gradients and compares only the optimiser and the schedule.

Run: /usr/bin/python3 scripts/sgd_reference.py > test/fixtures/sgd-torch.json
(Debian's python3-torch; the pyenv python3 on PATH has no torch.)
"""
import json
import math
import sys

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, _LRScheduler


class ConstantWarmupScheduler(_LRScheduler):
    """Dassl's dassl/optim/lr_scheduler.py (_BaseWarmupScheduler + ConstantWarmupScheduler)."""

    def __init__(self, optimizer, successor, warmup_epoch, cons_lr, last_epoch=-1):
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        self.cons_lr = cons_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch >= self.warmup_epoch:
            return self.successor.get_last_lr()
        return [self.cons_lr for _ in self.base_lrs]

    def step(self, epoch=None):
        if self.last_epoch >= self.warmup_epoch:
            self.successor.step(epoch)
            self._last_lr = self.successor.get_last_lr()
        else:
            super().step(epoch)


def main() -> None:
    torch.manual_seed(0)
    n, max_epoch, steps_per_epoch = 6, 8, 3
    lr, momentum, weight_decay, warmup_lr = 0.05, 0.9, 5e-4, 1e-5
    a = torch.randn(n, n, dtype=torch.float32)
    a = (a @ a.T) / n + 0.5 * torch.eye(n, dtype=torch.float32)
    b = torch.randn(n, dtype=torch.float32)
    p = torch.nn.Parameter(torch.randn(n, dtype=torch.float32))
    init = p.detach().clone()
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
    sched = ConstantWarmupScheduler(opt, CosineAnnealingLR(opt, T_max=max_epoch), 1, warmup_lr)
    epochs = []
    for epoch in range(max_epoch):
        epoch_lr = opt.param_groups[0]["lr"]
        steps = []
        for s in range(steps_per_epoch):
            with torch.no_grad():
                wobble = 0.1 * torch.sin(torch.arange(n, dtype=torch.float32) + float(epoch * steps_per_epoch + s))
                grad = (a @ p + wobble - b).to(torch.float32)
            p.grad = grad.clone()
            opt.step()
            steps.append({"grad": grad.tolist(), "param": p.detach().tolist()})
        epochs.append({"lr": epoch_lr, "steps": steps})
        sched.step()
    json.dump(
        {
            "source": "scripts/sgd_reference.py",
            "torch": torch.__version__,
            "options": {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "warmup_epochs": 1, "warmup_lr": warmup_lr, "max_epoch": max_epoch},
            "init": init.tolist(),
            "epochs": epochs,
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")
    assert not any(math.isnan(v) for e in epochs for st in e["steps"] for v in st["param"])


if __name__ == "__main__":
    main()
