"""lmlib: the small shared library of the course "Language models: why scale wins".

Importing it prints nothing and downloads nothing. Labs use the names re-exported here
(``lmlib.TransformerLM``, ``lmlib.train``, ...). One module per concept, grouped by layer. The
library layers (runtime to rewards) never import experiments, grading or tools, and no two modules
import each other in a cycle; tests/test_layers.py checks both.

runtime/      where and how big a run is
  device        devices, dtypes, autocast, seeding, the matmul rate
  profiles      the ci / cpu / gpu run sizes
  files         atomic writes (a crash never leaves half a file), and where labs keep checkpoints
models/       what the chapters build
  attention     multi-head attention: one weight matrix chunked into q, k, v and heads
  mlp           the position-wise MLP and its expansion factor
  transformer   the decoder-only Transformer LM
  kv_cache      the KV cache: keys and values kept, so decoding reads only the new tokens
  encdec        the encoder-decoder, one switch per difference from decoder-only
  encoder       a bidirectional encoder (BERT-style) with a per-token head
  rnn           LSTM / GRU language models, with the cells written out
  cnn           a causal convolutional LM
  ngram         count-based n-gram LMs
  families      RNN, CNN and Transformer behind one interface, sized by one knob
  params        counting parameters: one meaning for every model
data/         what the models read
  tokenizer     character and word tokenizers
  bpe           byte-level byte-pair encoding: merges learned from bytes, any UTF-8 text
  shakespeare   tiny Shakespeare, found locally or downloaded once, and its batches
  multitask     the synthetic multitask corpus: one task per sentence
  knowledge     a synthetic knowledge base with a Zipf law over who is mentioned
  markov_copy   a synthetic task: a local Markov chain, then a copy of it from far back
  compute_prices  computing price-performance, 1944-2025: FLOP/s per constant dollar, sourced
  seq2seq       two input -> target tasks (fact lookup, toy translation) and their metrics
training/     training and using a model
  train         the training loop every lab uses
  train_config  a run's settings, the ones that set its numbers, and its lr schedule
  distributed   data parallelism over the processes torchrun starts
  stopping      Ctrl-C as a request honoured at the next step boundary
  loss          next-token cross-entropy
  checkpoint    checkpoints that survive crashes and refuse damage
  sampling      temperature / top-k sampling and generation
  flops         the FLOP ledger: what a training run cost
  seq2seq_train training an input -> target model, greedy decoding, held-out scores
  masking       BERT's masked LM: 80/10/10 corruption, loss at the chosen positions
  electra       ELECTRA: generator, replaced-token detection, the joint loss; Replace MLM
  span_corruption  T5's span corruption with sentinels, and its inverse
  denoising     BART's noising: infilling, deletion, permutation, rotation
  pretrain      pretraining an encoder to a FLOP budget, scored at checkpoints
  finetune      fine-tuning a whole encoder on a labelled task with one fixed recipe
  distill       distillation objectives: teacher labels, soft targets at a temperature, states
  students      students trained side by side on the same batches, teachers frozen
analysis/     measuring what a model learned
  skills        next-token losses split by the skill each prediction needs
  probes        held-out probes of the multitask corpus and their metrics
  power_law     scaling fits L = L_inf + a x^-alpha and curve shapes
  frontier      the compute-efficient frontier of loss curves, its fit and a held-out prediction
  emergence     the mirage (all-or-nothing composites of per-fact recall) and Wei et al.'s U test
  quiz          a small LM reads facts, then takes a quiz on every one
  mini_glue     three labelled tasks scored by few-shot probes on a frozen encoder
  context_tasks  pretraining text and three tasks a bag of words cannot solve
  price_performance  exponential trends: log-linear fit, bootstrap doubling time, the talk's 10x/5y
  crossing      where two loss-against-compute curves cross
  heads         each attention head's weights, mean look-back and entropy
  isoflop       IsoFLOP profiles: steps for a budget, parabola minima, N_opt ~ C^a, bootstrap
rewards/      learning from a reward
  qa            reward tables for answering or abstaining, and a policy trained on them
  abstain       an "I don't know" word, and REINFORCE on a language model's own weights
  tictactoe     the game, an exhaustive oracle, and an agent that learns from the result
  sums          sums with an exact checker: supervised fine-tuning and REINFORCE on a small GPT
experiments/  behind `lmlib run`: one module per experiment, each writing a results file
  runner        the `lmlib run` command: one run, a sweep, or only the figures
  results       results files: metrics plus everything needed to reproduce them
  pool          a sweep's runs in spawned worker processes, one torch thread each
  sizes         a named Transformer size, one rung of a ladder of models
  labs          every lab's sizes per profile, read by its notebook and by budget's plans
  next_token    a character Transformer learns tiny Shakespeare
  scaling       a ladder of Transformer sizes on the multitask corpus
  scaling_summary  the sweep's summary: per-seed metrics, frontier fit, curve shapes
  scaling_figures  the sweep's figures, drawn from its results files
  emergence_figures  the sweep's mirage and memo-trap figures
  objectives    MLM against ELECTRA at equal pretraining FLOPs, judged by fine-tuning
  objectives_summary  that experiment's floor, validity test and paired differences
  objectives_figures  that experiment's figures, from its summary
  three_families   RNN, CNN and Transformer at equal size
  incentives    answering or abstaining, and tic-tac-toe, learned from rewards
  abstain       the fact LM itself learns to say "I don't know" from a reward table, over seeds
  distill       which signal a small student should copy from a large teacher
  distill_figures  the distillation results read: paired comparisons and figures
  distill_figures  the distillation figures, drawn from its results file
  distill_world  the distillation experiment's text and how a model is scored on it
  chat_cache    a ten-turn chat: causal attention with a KV cache vs a re-encoded prefix LM
  crossover     a count model, a CNN and a Transformer at growing compute budgets
  price_trend   the price-performance trend fitted, bootstrapped, and the sweep priced by year
  encdec_ladder encoder-decoder to decoder-only, one difference removed at a time
  attention_heads  lab 3.1's heads over seeds: look-back and entropy before and after training
  mlp_ablation  MLP expansions at equal FLOPs, each at its picked rate; the probe c = table[a, b]
  mlp_ablation_figures  the MLP ablation's figures: loss against the bigram floor, rates, probe
  tokenization  characters, BPE and words at equal compute, and sums with digits merged or split
  sft_vs_rl     imitation, a verifiable reward, and both at equal FLOPs on sums, over seeds
  isoflop       compute-optimal size from IsoFLOP profiles, and a data-scaling curve, over seeds
  isoflop_figures  that experiment's figures: valleys, the optimum against compute, the data curve
grading/      `lmlib grade` and `lmlib student`
  checker       check() in a notebook: an exercise's checks, in-process
  grade         the `lmlib grade` command
  sandbox       the trusted side: workers started under limits, plain data read back
  isolation     bubblewrap namespaces per exercise, and whether a grade is tamper-proof
  cgroup        pids and memory cgroups: caps on a job's processes and memory
  pools         a notebook's exercises run one after another in one pool, within a time budget
  bwrap_job     one bubblewrap job per notebook, in its cgroups until all it started is gone
  seccomp       the filter that stops a graded job from starting a process
  timing        grading time per notebook, measured for the instructors' page
  outcome       a job's result read back within bounds (size, values visited, time)
  worker        the untrusted side: runs one exercise, decides nothing
  pool_worker   the worker's pool mode: a notebook's exercises in forked children, traces wiped
  answers       calling an answer: results made plain data, inputs and gradients watched
  forbidden     forbidden shortcuts refused by name, by route and by kernel while an answer runs
  rules         the source rules: what graded code may import and read, checked before it runs
  judge         inputs and expected answers built, requests planned, verdicts settled
  verdict       a worker's result against the prepared cases, the first failure explained
  escape        student text escaped for the terminal and for Markdown
  spec          what an exercise is, and how answers are compared
  notebook      lab notebooks read as JSON: exercise cells and solution blocks
  layout        which of a notebook's names the grader lacks or sees changed, and why
  kernel_view   what check() reads of the notebook a kernel runs, to warn like the grade
  report        the terminal table, grade.json, Markdown and GitHub Classroom output
  student       the `lmlib student` command: student notebooks from the solutions
  classroom     the GitHub Classroom workflow that grades every lab
  labs/         one spec module per lab
tools/        the `lmlib` command
  cli           the entry point: one module per subcommand
  doctor        what this machine offers, and a numeric self-test
  gpu_check     one run on a GPU: CUDA tests, bench, a grade, every lab, written to files
  bench         training throughput against Hugging Face GPT-2 and torch's encoder
  bench_generate  generation speed at batch 1: lmlib with and without its cache, HF generate
  bench_report  bench's tables, its verdict and the book's Markdown table
  baselines     the models bench compares against
  budget        how long each lab takes per profile
  plans         each lab's planned training FLOPs, for budget's gpu estimate
  memory        GPU memory of a training run: weights, gradients, AdamW state, activations
  lab_memory    each lab's largest training run by that count, per profile
  book_guard    the book build's notebook budget and idle-kernel watchdog
"""

from lmlib.data.bpe import BPETokenizer
from lmlib.data.shakespeare import CharDataset, DataError, get_batch, tiny_shakespeare
from lmlib.data.tokenizer import CharTokenizer
from lmlib.models.attention import (
    MultiHeadAttention,
    causal_attention,
    causal_mask,
    merge_heads,
    split_heads,
)
from lmlib.models.encdec import EncDecConfig, EncoderDecoder
from lmlib.models.kv_cache import KVCache
from lmlib.models.mlp import MLP
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import autocast, pick_device, seed_everything
from lmlib.runtime.files import checkpoint_dir
from lmlib.runtime.profiles import by_profile, current_profile
from lmlib.training.checkpoint import (
    CheckpointError,
    kept_result,
    load_checkpoint,
    save_checkpoint,
)
from lmlib.training.loss import next_token_loss
from lmlib.training.sampling import generate, sample_next
from lmlib.training.train import History, TrainConfig, evaluate, lr_at, train

__version__ = "0.3.0"

__all__ = [
    "EncDecConfig",
    "EncoderDecoder",
    "MLP",
    "CharDataset",
    "BPETokenizer",
    "CharTokenizer",
    "CheckpointError",
    "DataError",
    "History",
    "KVCache",
    "MultiHeadAttention",
    "TrainConfig",
    "TransformerConfig",
    "TransformerLM",
    "autocast",
    "by_profile",
    "causal_attention",
    "causal_mask",
    "checkpoint_dir",
    "current_profile",
    "evaluate",
    "generate",
    "get_batch",
    "kept_result",
    "load_checkpoint",
    "lr_at",
    "merge_heads",
    "next_token_loss",
    "pick_device",
    "sample_next",
    "save_checkpoint",
    "seed_everything",
    "split_heads",
    "tiny_shakespeare",
    "train",
]
