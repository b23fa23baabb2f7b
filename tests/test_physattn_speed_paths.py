"""The fast paths of physattn's training step give bit for bit what the straightforward code gave.

:class:`~cellbench.models.physattn_conv.PriorKL` computes the alpha-free part of KL(alpha || pi)
(floored log pi, in-degrees, the nodes in the mean) once per batch instead of once per graph block.
The reference below is the per-block code it replaced, kept here verbatim: values and gradients
must be equal exactly (``torch.equal``), since the identity table (tests/test_identity.py) records
1-epoch physattn runs bitwise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.utils import scatter, softmax

from cellbench.inputs.batching import EDGE_DIM, Batch, track_keys
from cellbench.models.physattn_conv import KL_FLOOR, PriorKL, kl_to_prior, prior_distribution
from cellbench.train.loop import attention_kl

N_NODES = 60


def kl_to_prior_reference(alpha, pi, target, n_nodes, use_node=None, reduce="mean"):
    """kl_to_prior as it was before PriorKL: everything recomputed for each block."""
    if alpha.dim() == 1:
        alpha = alpha[:, None]
    terms = alpha * (torch.log(alpha.clamp_min(KL_FLOOR)) - torch.log(pi.clamp_min(KL_FLOOR))[:, None])
    per_node = scatter(terms, target, dim=0, dim_size=n_nodes, reduce=reduce)
    deg = torch.bincount(target, minlength=n_nodes)
    use_node = deg > 0 if use_node is None else use_node & (deg > 0)
    if not bool(use_node.any()):
        return alpha.sum() * 0.0
    return per_node[use_node].mean()


def graph(seed: int, n_edges: int = 400):
    """Random edges sorted by target; nodes 0-4 receive no edge (as isolated cells in a radius graph)."""
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(5, N_NODES, (n_edges,), generator=g).sort().values
    c_tilde = 3 * torch.randn(n_edges, generator=g)
    logits = torch.randn(n_edges, 2, generator=g)
    logits[::7] -= 300.0  # alpha underflows to 0 on these edges: the KL floor is exercised
    return target, c_tilde, logits


def value_and_grad(kl, logits, target):
    leaf = logits.clone().requires_grad_()
    alpha = softmax(leaf, target, num_nodes=N_NODES)
    value = kl(alpha)
    value.backward()
    return value.detach(), leaf.grad


USE_NODE = {
    "default": None,
    "all": torch.ones(N_NODES, dtype=torch.bool),
    "some": torch.arange(N_NODES) % 3 != 0,
    "none": torch.zeros(N_NODES, dtype=torch.bool),
}


@pytest.mark.parametrize("reduce", ["mean", "sum"])
@pytest.mark.parametrize("use", sorted(USE_NODE))
@pytest.mark.parametrize("seed", [0, 1])
def test_prior_kl_is_bitwise_the_per_block_computation(seed, use, reduce):
    target, c_tilde, logits = graph(seed)
    pi = prior_distribution(c_tilde, target, N_NODES, 1.3)
    use_node = USE_NODE[use]
    fast = PriorKL(pi, target, N_NODES, use_node, reduce)
    for block in range(2):  # one PriorKL serves every block
        block_logits = logits + block
        v_ref, g_ref = value_and_grad(lambda a: kl_to_prior_reference(a, pi, target, N_NODES, use_node, reduce),
                                      block_logits, target)
        v_new, g_new = value_and_grad(fast, block_logits, target)
        assert torch.equal(v_new, v_ref) and torch.equal(g_new, g_ref)
        v_fn, g_fn = value_and_grad(lambda a: kl_to_prior(a, pi, target, N_NODES, use_node, reduce), block_logits, target)
        assert torch.equal(v_fn, v_ref) and torch.equal(g_fn, g_ref)
    if use == "none":
        assert float(v_new) == 0.0 and not g_new.any()


def test_prior_kl_takes_one_head_as_a_vector():
    target, c_tilde, logits = graph(2)
    pi = prior_distribution(c_tilde, target, N_NODES, 1.0)
    alpha = softmax(logits[:, 0], target, num_nodes=N_NODES)
    assert torch.equal(PriorKL(pi, target, N_NODES)(alpha), kl_to_prior_reference(alpha, pi, target, N_NODES))


def test_prior_kl_refuses_an_unknown_reduction():
    target, c_tilde, _ = graph(0)
    with pytest.raises(ValueError, match="reduce 'max'"):
        PriorKL(prior_distribution(c_tilde, target, N_NODES, 1.0), target, N_NODES, reduce="max")


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_attention_kl_is_bitwise_the_mean_of_per_block_terms(reduce):
    target, c_tilde, logits = graph(3)
    source = torch.randint(0, N_NODES, target.shape, generator=torch.Generator().manual_seed(3))
    has_neighbour = torch.arange(N_NODES) % 4 != 1
    batch = Batch(x=torch.zeros(N_NODES, 7), edge_index=torch.stack([source, target]),
                  edge_attr=torch.zeros(len(target), EDGE_DIM), c_tilde=c_tilde, has_neighbour=has_neighbour,
                  y=torch.zeros(N_NODES, 2), split=torch.zeros(N_NODES, dtype=torch.int8),
                  keys=track_keys(np.zeros(N_NODES, dtype=np.int64), np.arange(N_NODES)),
                  frame_ptr=np.array([0, N_NODES]), edge_ptr=np.array([0, len(target)]))
    leaves = [(logits + k).requires_grad_() for k in range(2)]
    attention = [softmax(leaf, target, num_nodes=N_NODES) for leaf in leaves]
    new = attention_kl(attention, batch, 0.7, reduce)
    new.backward()
    g_new = [leaf.grad.clone() for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    pi = prior_distribution(c_tilde, target, N_NODES, 0.7)
    attention = [softmax(leaf, target, num_nodes=N_NODES) for leaf in leaves]
    ref = torch.stack([kl_to_prior_reference(a, pi, target, N_NODES, has_neighbour, reduce) for a in attention]).mean()
    ref.backward()
    assert torch.equal(new.detach(), ref.detach())
    assert all(torch.equal(a, leaf.grad) for a, leaf in zip(g_new, leaves))
