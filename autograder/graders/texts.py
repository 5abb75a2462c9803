"""What the graders tell a student, in Chinese and English: every check's message and note, defined once here.

A message names what is wrong, never the expected value. `{placeholders}` are filled by `Text.format` at the
check (`what` is how the student knows the value, e.g. "`causal_mask`" or "weights (2-D float64)"); the mistake
ids' own explanations are in `assignments/mistakes.py`.
"""
from __future__ import annotations

from assignments.quiz import Text

# ---------------------------------------------------------------- the grader itself, and scoring

GRADER_ERROR = Text("这项检查没能完成:评分程序在检查你的结果时自己出错了。这不一定是你的错;请告诉老师。",
                    "This check could not finish: the grader itself failed while checking your result. It is not "
                    "necessarily your mistake; please tell your instructor.")
UNTIL_VALID = Text("{message}在答案成为有效结果之前,这道题得 0 分。", "{message} Until it is a valid result, this question scores 0.")
"""A failed validity gate: its check's message, and why the whole question scores 0."""
ALL_PASSED = Text("全部检查通过。", "All checks passed.")
GRADED_BY_HAND = Text("由老师人工评分。", "Graded by hand by the instructor.")
NO_CHECK_RAN = Text("这道题的检查没有运行。", "No check of this question could run.")

# ---------------------------------------------------------------- the student's code gave back no value

NOT_IMPLEMENTED = Text("`{name}` 还没有实现(仍然 raise NotImplementedError)。",
                       "`{name}` is not implemented yet (it still raises NotImplementedError).")
NOT_DEFINED = Text("找不到 `{name}`:定义它的单元格没有运行成功,或名字被改了。",
                   "`{name}` is not defined: the cell defining it failed or the name was changed.")
DEFINING_CELL_FAILED = Text("定义 `{name}` 的单元格运行失败:{detail}", "The cell defining `{name}` failed: {detail}")
CALL_TIMED_OUT = Text("调用 `{name}` 超时(死循环或太慢?)。", "Calling `{name}` timed out (an endless loop?).")
INTERPRETER_CRASHED = Text("调用 `{name}` 时解释器崩溃或退出了:{detail}",
                           "The interpreter crashed or exited while calling `{name}`: {detail}")
CALL_RAISED = Text("调用 `{name}` 时出错:{detail}", "Calling `{name}` raised an error: {detail}")
NOT_INSTALLED = Text("{message}评分环境里没有安装 `{module}`:请只用 notebook 已经导入的库(torch、NumPy、matplotlib……),"
                     "或请老师安装它。",
                     "{message} `{module}` is not installed where notebooks are graded: use the libraries the notebook "
                     "already imports (torch, NumPy, matplotlib, …), or ask your instructor to install it.")
"""Added to a failed call's message when the error was importing a module that the grading environment lacks."""
CALL_FAILED = {"not-implemented": NOT_IMPLEMENTED, "missing": NOT_DEFINED, "cell-failed": DEFINING_CELL_FAILED,
               "timeout": CALL_TIMED_OUT, "crash": INTERPRETER_CRASHED}
"""By the sandbox's reply kind (`StudentFailure.kind`); any other kind is CALL_RAISED."""

# ---------------------------------------------------------------- typed checks (checks.py), any question

NOT_NUMBERS = Text("{what} 应该是数字组成的张量、数组或列表,得到的是 {got}。",
                   "{what} should be a tensor, array or list of numbers; got {got}.")
NOT_A_PAIR = Text("{what} 应返回 ({names}) 两个值,得到的是 {got}。", "{what} should return two values ({names}); got {got}.")
WRONG_SHAPE = Text("{what} 的形状应为 {shape},得到 {got}。", "{what} should have shape {shape}; got {got}.")
"""Shapes are part of the task statement, so they may be shown."""
NOT_FINITE = Text("{what} 中有 NaN 或 inf。", "{what} contains NaN or inf.")
DIFFERS = Text("{what} 与参考实现不一致{nan}。", "{what} differs from the reference{nan}.")
DIFFERS_AT = Text("{what} 与参考实现不一致{nan}:{count} 个元素不同,第一个在下标 {where}。",
                  "{what} differs from the reference{nan}: {count} entries differ, the first at index {where}.")
NOT_RIGHT = Text("{what} 不对。", "{what} is not right.")
NOT_A_LETTER = Text("请填写一个选项字母({letters}),得到 {got!r}。", "Answer with one option letter ({letters}); got {got!r}.")
NOT_A_FIGURE = Text("{what} 应返回 matplotlib Figure,得到 {got}。", "{what} should return a matplotlib Figure; got {got}.")

# ---------------------------------------------------------------- validity gates (gates.py): not attention at all

NAN_WHERE_A_KEY_IS_ALLOWED = Text("{what} 在有可看的键的查询上返回了 NaN 或 inf。",
                                  "{what} returns NaN or inf for queries that have an allowed key.")
NEGATIVE_WEIGHTS = Text("{what} 的 weights 有负数;注意力权重来自 softmax,在 0 和 1 之间。",
                        "{what} returns negative weights; attention weights come out of a softmax and lie between 0 "
                        "and 1.")
ROWS_NOT_DISTRIBUTIONS = Text(
    "{what} 的 weights 中,有可看的键的查询行之和应为 1(对键的概率分布),有 {count} 行不是。"
    "检查 softmax(dim=-1)以及 softmax 之后对权重做了什么。",
    "In the weights of {what}, each row of a query that has an allowed key should sum to 1 (a probability "
    "distribution over the keys); {count} rows do not. Look at the softmax (dim=-1) and at what happens to the "
    "weights after it.")
SAME_FOR_DIFFERENT_INPUTS = Text("{what} 对两组不同的输入返回了相同的结果:它不是由输入算出来的。",
                                 "{what} returns the same result for two different inputs: it is not computed from "
                                 "them.")

# ---------------------------------------------------------------- attention_by_hand: sdpa

OUTPUT_DTYPE_CHANGED = Text("输出的 dtype 应与输入相同({what})。", "The output should keep the input's dtype ({what}).")

# ---------------------------------------------------------------- masked_attention: causal_mask

MASK_NOT_BOOL = Text("`causal_mask` 应返回布尔张量(torch.bool),得到 {dtype}。",
                     "`causal_mask` should return a boolean tensor (torch.bool); got {dtype}.")

# ---------------------------------------------------------------- masked_attention: masked_self_attention

DTYPE_CHANGED = Text("{name} 的 dtype 应与输入相同({what})。", "{name} should keep the input's dtype ({what}).")
WEIGHTS_NOT_L_BY_L = Text("weights 的最后两维应为 [{L}, {L}]。", "weights should end with [{L}, {L}].")
FUTURE_KEYS_WEIGHTED = Text("weights 的上三角(未来的键)不全为 0:查询看到了未来。",
                            "The upper triangle of the weights (future keys) is not all 0: queries see the future.")
ROWS_DO_NOT_SUM_TO_ONE = Text("weights 的某些行之和不为 1。", "Some rows of the weights do not sum to 1.")
OUTPUT_WRONG_SHAPE = Text("output 的形状不对。", "The output has the wrong shape.")
FUTURE_LEAKS = Text("只改变位置 {t} 之后的词,位置 0–{t} 的输出却变了:信息从未来泄漏了。",
                    "Changing only the tokens after position {t} changed the outputs at positions 0–{t}: information "
                    "leaks from the future.")
CAUSAL_MASK_CARRIED = Text(
    "你的 masked_self_attention 调用了你自己的 causal_mask;在你的 mask 下它算得正确,所以这里不扣分(错误只在 causal_mask 一题扣分)。"
    "改正 causal_mask 后,这里的结果也会随之改变。",
    "Your masked_self_attention uses your own causal_mask and is right given that mask, so it loses nothing here "
    "(error carried forward: only the causal_mask question counts it). Fix causal_mask and these results follow.")
"""The note of a check passed on the student's own (wrong) causal_mask."""

# ---------------------------------------------------------------- masked_attention: padding_mask

OUTPUT_OR_WEIGHTS_WRONG_SHAPE = Text("output 或 weights 的形状不对。", "output or weights has the wrong shape.")
EMPTY_ROW_NOT_FINITE = Text("没有任何可看的键的查询,其权重或输出中出现了 NaN/inf。",
                            "A query with no allowed key gets NaN/inf in its weights or output.")
EMPTY_ROW_UNIFORM = Text(
    "没有任何可看的键的查询得到了平均分给所有键的均匀权重(整行都填成了同一个很小的数,如 -1e9 或 finfo.min),而不是全 0。"
    "softmax 之后把被屏蔽的位置再置 0。",
    "A query with no allowed key gets the same weight on every key (its whole row was filled with one very negative "
    "number, such as -1e9 or finfo.min) instead of all zeros. Zero the blocked positions again after the softmax.")
EMPTY_ROW_NOT_ZERO = Text("没有任何可看的键的查询,其权重和输出应全为 0。",
                          "A query with no allowed key should get all-zero weights and a zero output.")
PADDED_WEIGHTS_WRONG_SHAPE = Text("weights 的形状应为 [3, 6, 6]。", "weights should have shape [3, 6, 6].")
PADDING_KEYS_WEIGHTED = Text("padding 位置作为键分到了注意力。", "Padding keys receive attention.")
WEIGHTS_WRONG_SHAPE = Text("weights 的形状不对。", "weights has the wrong shape.")
ALLOWED_ROWS_DO_NOT_SUM_TO_ONE = Text("有可看的键的行,权重之和应为 1。", "Rows with an allowed key should sum to 1.")

# ---------------------------------------------------------------- bert_heads: get_attentions

TOKENS_NOT_STRINGS = Text("tokens 应是字符串列表。", "tokens should be a list of strings.")
SPECIAL_TOKENS_DROPPED = Text("tokens 或 attn 缺少 [CLS]/[SEP]({what})。", "tokens or attn lack [CLS]/[SEP] ({what}).")
NOT_WORDPIECE_TOKENS = Text("tokens 不是 tokenizer 对这句话给出的 WordPiece 词({what});用 convert_ids_to_tokens 转换 input_ids。",
                            "tokens are not the tokenizer's WordPiece tokens of the sentence ({what}); convert the "
                            "input_ids with convert_ids_to_tokens.")
ATTN_NOT_FLOAT32 = Text("attn 应为 float32,得到 {dtype}。", "attn should be float32; got {dtype}.")

# ---------------------------------------------------------------- bert_heads: the measures' gate

SAME_FOR_EVERY_HEAD = Text("{what} 对随机注意力的每个头都返回同一个数:它没有度量各个头。",
                           "{what} returns the same number for every head of random attention: it does not measure "
                           "the heads.")

# ---------------------------------------------------------------- bert_heads: classify_head

LABEL_NOT_A_STR = Text("`classify_head` 应返回字符串。", "`classify_head` should return a str.")
NOT_A_LABEL = Text("`classify_head` 应返回八个标签之一,得到 {got!r}。",
                   "`classify_head` should return one of the eight labels; got {got!r}.")
SAME_LABEL_FOR_EVERY_HEAD = Text("`classify_head` 对八种完全不同的头都返回 {got!r}:它没有按规则区分头。",
                                 "`classify_head` returns {got!r} for eight very different heads: it does not tell "
                                 "heads apart by the rule.")
LABELS_CARRIED = Text(
    "`classify_head` 在你自己的 {helpers} 的结果上正确地应用了规则,所以这里不扣分(错误只在 {helpers} 那道题扣分)。"
    "改正它之后,这里的标签也会随之改变。",
    "`classify_head` applies the rule correctly to the values of your own {helpers}, so it loses nothing here "
    "(error carried forward: only the {helpers} question counts it). Fix it and these labels follow.")
"""The note of a check passed on the student's own (wrong) measures; `helpers` names them."""

# ---------------------------------------------------------------- bert_heads: find_head

NOT_LAYER_AND_HEAD = Text("{what} 应返回两个整数 (layer, head)。", "{what} should return two integers (layer, head).")
HEAD_OUT_OF_RANGE = Text("`find_head` 返回的 (layer, head) 超出了 attn 的范围。",
                         "`find_head` returns a (layer, head) outside attn's range.")
NOT_A_VALUE_ERROR = Text("{what}:应抛出 ValueError,但抛出了别的错误。",
                         "{what}: a ValueError is expected, but another error was raised.")
NO_ERROR_RAISED = Text("{what}:应抛出清楚的 ValueError,但函数返回了一个值。",
                       "{what}: a clear ValueError is expected, but the function returned a value.")

# ---------------------------------------------------------------- bert_heads: plot_attention

NO_HEATMAP = Text("图中找不到热图(用 imshow 画出这个头)({what})。", "The figure has no heatmap (draw the head with imshow) ({what}).")
TICKS_ARE_NOT_TOKENS = Text("两个坐标轴的刻度标签都应是 tokens(每个 token 一个刻度)。",
                            "Both axes should have the tokens as tick labels (one tick per token).")
TITLE_LACKS_LAYER_AND_HEAD = Text("标题应写明层号和头号。", "The title should name the layer and the head.")
NO_COLORBAR = Text("图中应有颜色条(fig.colorbar)。", "The figure should have a colour bar (fig.colorbar).")
