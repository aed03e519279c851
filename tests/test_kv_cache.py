import pytest
import torch

from lmlib.models.kv_cache import KVCache, new_cache, next_position


def test_append_stores_in_order_and_returns_everything_so_far():
    cache = KVCache(capacity=8)
    k1, v1 = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)
    k, v = cache.append(k1, v1)
    assert cache.length == 5 and torch.equal(k, k1) and torch.equal(v, v1)
    k2, v2 = torch.randn(2, 3, 1, 4), torch.randn(2, 3, 1, 4)
    k, v = cache.append(k2, v2)
    assert cache.length == 6 and k.shape == (2, 3, 6, 4)
    assert torch.equal(k, torch.cat([k1, k2], dim=2)) and torch.equal(v, torch.cat([v1, v2], 2))


def test_full_cache_and_mismatched_keys_are_clear_errors():
    cache = KVCache(capacity=4)
    cache.append(torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8))
    with pytest.raises(ValueError, match=r"4 cached \+ 1 new tokens exceed the context=4"):
        cache.append(torch.randn(1, 2, 1, 8), torch.randn(1, 2, 1, 8))
    assert cache.length == 4  # nothing was written
    other = KVCache(capacity=4)
    other.append(torch.randn(1, 2, 1, 8), torch.randn(1, 2, 1, 8))
    with pytest.raises(ValueError, match="do not fit a cache"):
        other.append(torch.randn(3, 2, 1, 8), torch.randn(3, 2, 1, 8))
    with pytest.raises(ValueError, match="capacity"):
        KVCache(0)


def test_new_cache_has_one_empty_cache_per_layer():
    caches = new_cache(3, 16)
    assert len(caches) == 3 and all(c.length == 0 and c.capacity == 16 for c in caches)
    assert len({id(c) for c in caches}) == 3


def test_next_position_checks_the_cache_fits_the_model():
    caches = new_cache(2, 8)
    caches[0].append(torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4))
    assert next_position(caches, 2, 5, 8) == 3
    with pytest.raises(ValueError, match="cache for 2 layers, the model has 4"):
        next_position(caches, 4, 1, 8)
    with pytest.raises(ValueError, match=r"3 cached \+ 6 new tokens exceed the context=8"):
        next_position(caches, 2, 6, 8)
