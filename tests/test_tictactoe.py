"""Tic-tac-toe rules, the exhaustive oracle on known positions, and the self-play agent."""

import random

import pytest

from lmlib.rewards import tictactoe as t

X, O, E = 1, -1, 0  # noqa: E741


def test_rules():
    assert t.to_move(t.EMPTY) == X and t.legal_moves(t.EMPTY) == list(range(9))
    b = t.play(t.play(t.EMPTY, 4), 0)
    assert b == (O, E, E, E, X, E, E, E, E) and t.to_move(b) == X
    with pytest.raises(ValueError, match="not legal"):
        t.play(b, 4)
    row = (X, X, X, O, O, E, E, E, E)
    assert t.winner(row) == X and t.is_over(row) and t.legal_moves(row) == []
    diag = (O, X, X, E, O, X, E, E, O)
    assert t.winner(diag) == O
    full = (X, O, X, X, O, O, O, X, X)
    assert t.winner(full) == 0 and t.is_over(full)
    assert t.render(b) == "O . .\n. X .\n. . ."


def test_oracle_on_known_positions():
    assert t.value(t.EMPTY) == 0  # perfect play draws
    assert len(t.positions()) == 4520  # non-terminal positions reachable from the empty board
    # X to move and can win at once on cell 2
    b = (X, X, E, O, O, E, E, E, E)
    assert t.best_moves(b) == [2] and t.move_values(b)[2] == 1
    # O to move must block X's column 0 -> 3... X threatens cells 0, 3, 6 via 0 and 3
    b = (X, E, E, X, O, E, E, E, E)
    assert t.best_moves(b) == [6]
    # after X takes a corner, only the centre saves O
    assert t.best_moves(t.play(t.EMPTY, 0)) == [4]
    # every first move draws with perfect play
    assert set(t.move_values(t.EMPTY).values()) == {0}


def test_agent_learns_from_results_and_is_seeded():
    boards = t.contested(t.positions())
    agents = []
    for _ in range(2):
        agent = t.MonteCarloAgent()
        agent.train(1500, random.Random(0))
        agents.append(agent)
    assert agents[0].q == agents[1].q
    agent = agents[0]
    untrained = t.MonteCarloAgent()
    # bands for the ci-sized run (1,500 games): more agreement than the untrained agent,
    # and better than a coin flip's share of wins against a random player
    assert t.oracle_agreement(agent, boards) > t.oracle_agreement(untrained, boards) + 0.02
    score = t.match(lambda b, r: agent.greedy(b), t.random_player, 200, random.Random(1))
    assert score["win"] + score["draw"] > 0.6
    assert agent.greedy((X, X, E, O, O, E, E, E, E)) == 2  # it has found the immediate win


def test_agent_errors():
    with pytest.raises(ValueError, match="epsilon"):
        t.MonteCarloAgent(epsilon=2)
    with pytest.raises(ValueError, match="game is over"):
        t.MonteCarloAgent().greedy((X, X, X, O, O, E, E, E, E))
    with pytest.raises(ValueError, match="no positions"):
        t.oracle_agreement(t.MonteCarloAgent(), [])
