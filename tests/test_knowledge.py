import pytest
import torch

from lmlib.data.knowledge import Fact, KnowledgeBase, entity_names
from lmlib.data.tokenizer import WordTokenizer


def test_facts_cover_every_subject_and_relation_once():
    kb = KnowledgeBase(50, seed=3)
    pairs = [(f.subject, f.relation) for f in kb.facts]
    assert len(pairs) == len(set(pairs)) == 50 * len(kb.relations)
    assert {f.rank for f in kb.facts} == set(range(1, 51))
    for f in kb.facts:
        assert f.answer in kb.relations[f.relation]
    assert all(8 <= len(a) <= 16 for a in kb.relations.values())


def test_same_seed_same_base_other_seed_differs():
    a, b, c = KnowledgeBase(40, seed=1), KnowledgeBase(40, seed=1), KnowledgeBase(40, seed=2)
    assert a.facts == b.facts
    assert a.facts != c.facts


def test_names_are_unique_pronounceable_words():
    names = entity_names(2000, seed=0)
    assert len(set(names)) == 2000
    assert all(n.isalpha() and " " not in n for n in names)
    assert names == entity_names(2000, seed=0)


def test_answers_do_not_follow_from_spelling():
    # subjects that share a first letter do not share answers more often than chance
    kb = KnowledgeBase(2000, seed=0)
    job = [f for f in kb.facts if f.relation == "job"]
    by_letter = {}
    for f in job:
        by_letter.setdefault(f.subject[0], []).append(f.answer)
    top_share = [max(map(a.count, set(a))) / len(a) for a in by_letter.values() if len(a) > 50]
    assert top_share and max(top_share) < 0.3  # 10 answers: chance ~0.1, plus noise


def test_weights_are_zipf_over_rank_and_sum_to_one():
    kb = KnowledgeBase(100, seed=0, zipf_s=1.0)
    w = kb.weights()
    assert w.shape == (len(kb.facts),)
    assert torch.isclose(w.sum(), torch.tensor(1.0, dtype=w.dtype))
    rank = torch.tensor([f.rank for f in kb.facts], dtype=w.dtype)
    assert torch.allclose(w * rank, (w * rank)[0].expand_as(w))  # w ~ 1 / rank
    uniform = KnowledgeBase(10, zipf_s=0.0).weights()
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / len(uniform)))


def test_sample_is_reproducible_and_follows_weights():
    kb = KnowledgeBase(20, seed=0)
    s1 = kb.sample(5000, torch.Generator().manual_seed(0))
    s2 = kb.sample(5000, torch.Generator().manual_seed(0))
    assert s1 == s2 and all(isinstance(f, Fact) for f in s1)
    head = sum(f.rank == 1 for f in s1) / len(s1)
    expected = kb.subject_weights()[0].item()
    assert abs(head - expected) < 0.03
    assert kb.sample(0, torch.Generator()) == []


def test_prompt_sentence_and_vocabulary():
    kb = KnowledgeBase(30, seed=0)
    tok = WordTokenizer(kb.vocabulary())
    for f in kb.facts:
        p, s = kb.prompt(f), kb.sentence(f)
        assert f.subject in p and s[: len(p)] == p and s[len(p)] == f.answer
        assert tok.decode(tok.encode(s)) == s  # every word is in the vocabulary
    assert len(kb.vocabulary()) == len(set(kb.vocabulary()))


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        KnowledgeBase(0)
    with pytest.raises(ValueError):
        KnowledgeBase(5, zipf_s=-1)
    with pytest.raises(ValueError):
        KnowledgeBase(5).prompt(Fact("X", "nope", "y", 1))
