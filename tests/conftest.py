import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _fresh_torch_state():
    """Each test starts from the same global torch state, whatever the previous one did."""
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)


@pytest.fixture
def overfit_losses():
    """overfit_losses(model, idx, steps) -> the loss of every step of Adam on one batch."""

    def run(model: torch.nn.Module, idx: torch.Tensor, steps: int = 80) -> list[float]:
        torch.set_num_threads(1)  # tiny matrices: threads only add overhead (restored above)
        opt = torch.optim.Adam(model.parameters(), lr=2e-2)
        losses = []
        for _ in range(steps):
            logits = model(idx[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), idx[:, 1:].flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    return run
