"""LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"): Adam's update, rescaled per tensor.

For very large batches, where AdamW's one learning rate is too much for some layers and too little for
others: each parameter tensor's Adam update (weight decay included) is scaled by the trust ratio
``||w|| / ||update||``, so every layer moves by a similar fraction of its own size. torch has no LAMB.
Under FSDP2 each parameter is a DTensor sharded across ranks, and its norms are the whole tensor's (DTensor
reduces them across the shards): every rank takes the step one unsharded model would take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class Lamb(torch.optim.Optimizer):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                state = self.state[parameter]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(parameter)
                    state["exp_avg_sq"] = torch.zeros_like(parameter)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(parameter.grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(parameter.grad, parameter.grad, value=1 - beta2)
                corrected_avg = exp_avg / (1 - beta1 ** state["step"])
                corrected_sq = exp_avg_sq / (1 - beta2 ** state["step"])
                update = corrected_avg / (corrected_sq.sqrt() + group["eps"])
                if group["weight_decay"]:
                    update.add_(parameter, alpha=group["weight_decay"])
                weight_norm, update_norm = parameter.norm(), update.norm()
                trust = torch.where((weight_norm > 0) & (update_norm > 0), weight_norm / update_norm, 1.0)
                parameter.add_(update, alpha=-group["lr"] * float(trust))
        return loss
