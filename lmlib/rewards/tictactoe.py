"""Tic-tac-toe: the rules, an exhaustive-search oracle, and an agent that learns from the result.

A board is a tuple of 9 ints, row by row: +1 for X, -1 for O, 0 for empty; X moves first. The
oracle searches the whole game tree (negamax with a cache; there are only 5,478 legal positions).
`MonteCarloAgent` never sees the oracle or any rule of thumb: it plays against itself and learns,
for each (position, move), the average result at the end of the game (1 win, 0 loss; a draw
counts `draw_reward`).
"""

from __future__ import annotations

import random
from functools import cache

Board = tuple[int, ...]
EMPTY: Board = (0,) * 9
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def winner(board: Board) -> int:
    """+1 if X has three in a row, -1 if O has, else 0."""
    for a, b, c in LINES:
        if board[a] != 0 and board[a] == board[b] == board[c]:
            return board[a]
    return 0


def to_move(board: Board) -> int:
    """+1 when X is to move, -1 when O is (X moves first)."""
    return 1 if board.count(1) == board.count(-1) else -1


def is_over(board: Board) -> bool:
    return winner(board) != 0 or 0 not in board


def legal_moves(board: Board) -> list[int]:
    return [] if is_over(board) else [i for i, v in enumerate(board) if v == 0]


def play(board: Board, move: int) -> Board:
    """The board after the player to move puts a mark on cell `move` (0..8, row by row)."""
    if move not in legal_moves(board):
        raise ValueError(f"move {move} is not legal on {board}; legal: {legal_moves(board)}")
    return board[:move] + (to_move(board),) + board[move + 1 :]


@cache
def value(board: Board) -> int:
    """The result for the player to move under perfect play by both: +1 win, 0 draw, -1 loss."""
    w = winner(board)
    if w:
        return w * to_move(board)  # the player who just moved won, so this is -1
    if 0 not in board:
        return 0
    return max(-value(play(board, m)) for m in legal_moves(board))


def move_values(board: Board) -> dict[int, int]:
    """The oracle's rating of each legal move, for the player making it (+1, 0 or -1)."""
    return {m: -value(play(board, m)) for m in legal_moves(board)}


def best_moves(board: Board) -> list[int]:
    rated = move_values(board)
    top = max(rated.values())
    return [m for m, v in rated.items() if v == top]


def positions() -> list[Board]:
    """Every position reachable from the empty board that is not over (4,520 of them)."""
    seen, stack = {EMPTY}, [EMPTY]
    while stack:
        board = stack.pop()
        for m in legal_moves(board):
            nxt = play(board, m)
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return sorted(b for b in seen if not is_over(b))


def render(board: Board) -> str:
    """Three lines of X, O and . for empty."""
    marks = {1: "X", -1: "O", 0: "."}
    return "\n".join(" ".join(marks[v] for v in board[r * 3 : r * 3 + 3]) for r in range(3))


class MonteCarloAgent:
    """Tabular self-play Monte Carlo control with epsilon-greedy exploration.

    q[(board, move)] is the average final result, for the player who made the move, of the games
    in which that move was played; an untried move counts `prior`.
    """

    def __init__(self, epsilon: float = 0.3, draw_reward: float = 0.5, prior: float = 0.5):
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon, self.draw_reward, self.prior = epsilon, draw_reward, prior
        self.q: dict[tuple[Board, int], float] = {}
        self.n: dict[tuple[Board, int], int] = {}
        self.episodes = 0

    def greedy(self, board: Board) -> int:
        """The move of highest estimated value (ties: the lowest cell)."""
        moves = legal_moves(board)
        if not moves:
            raise ValueError(f"no legal move: the game is over on {board}")
        return max(moves, key=lambda m: (self.q.get((board, m), self.prior), -m))

    def act(self, board: Board, rng: random.Random) -> int:
        if rng.random() < self.epsilon:
            return rng.choice(legal_moves(board))
        return self.greedy(board)

    def train(self, episodes: int, rng: random.Random) -> None:
        """Play `episodes` games against itself, updating every (position, move) it played."""
        for _ in range(episodes):
            board, history = EMPTY, []
            while not is_over(board):
                move = self.act(board, rng)
                history.append((board, move, to_move(board)))
                board = play(board, move)
            w = winner(board)
            for key_board, move, player in history:
                result = self.draw_reward if w == 0 else float(w == player)
                key = (key_board, move)
                self.n[key] = self.n.get(key, 0) + 1
                old = self.q.get(key, self.prior)
                self.q[key] = old + (result - old) / self.n[key]
            self.episodes += 1


def random_player(board: Board, rng: random.Random) -> int:
    return rng.choice(legal_moves(board))


def oracle_player(board: Board, rng: random.Random) -> int:
    return rng.choice(best_moves(board))


def play_game(x_player, o_player, rng: random.Random) -> int:
    """Play one game between two `player(board, rng) -> move` functions; returns the winner."""
    board = EMPTY
    while not is_over(board):
        player = x_player if to_move(board) == 1 else o_player
        board = play(board, player(board, rng))
    return winner(board)


def match(agent_player, opponent, games: int, rng: random.Random) -> dict[str, float]:
    """Shares of wins, draws and losses for `agent_player`, X in half the games and O in half."""
    tally = {"win": 0, "draw": 0, "loss": 0}
    for g in range(games):
        side = 1 if g % 2 == 0 else -1
        players = (agent_player, opponent) if side == 1 else (opponent, agent_player)
        w = play_game(*players, rng) * side
        tally["win" if w > 0 else "loss" if w < 0 else "draw"] += 1
    return {k: v / games for k, v in tally.items()}


def contested(boards: list[Board]) -> list[Board]:
    """The positions where the choice matters: not every legal move has the same oracle value."""
    return [b for b in boards if len(set(move_values(b).values())) > 1]


def oracle_agreement(agent: MonteCarloAgent, boards: list[Board]) -> float:
    """The share of `boards` on which the agent's greedy move is one the oracle rates best."""
    if not boards:
        raise ValueError("no positions to compare on")
    return sum(agent.greedy(b) in best_moves(b) for b in boards) / len(boards)
