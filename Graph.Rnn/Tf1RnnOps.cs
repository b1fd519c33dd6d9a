using Graph.Core;

namespace Graph.Rnn;

/// <summary>
/// The ops TF1 1.15 creates in its RNN functions (ops/rnn.py, ops/rnn_cell_impl.py, keras/layers/recurrent.py), beyond
/// what the calls they make count themselves; see docs/tf1-mapping.md.
/// </summary>
internal static class Tf1RnnOps
{
    /// <summary>
    /// rnn.py <c>_transpose_batch_time</c> for a tensor of known rank: <c>rank(x)</c> (a Const), <c>range(2, rank)</c>
    /// (start and delta Consts, Range), <c>concat(([1, 0], range), 0)</c> (a Const for [1, 0], the axis Const,
    /// ConcatV2), Transpose.
    /// </summary>
    public const int TransposeBatchTime = 8;

    /// <summary>
    /// rnn.py <c>dynamic_rnn</c> with <c>sequence_length</c>, after its Cast (none for int32) and
    /// <c>identity(name="sequence_length")</c>: <c>_assert_has_shape</c> (Shape, <c>stack([batch_size])</c> as a
    /// Pack, or a Const for a static batch, Equal, <c>reduce_all</c> as a Const and All, and <c>Assert</c>, whose
    /// two message strings become Consts twice: once in <c>convert_n_to_tensor</c>, once in the op) and
    /// <c>identity(name="CheckSeqLen")</c>.
    /// </summary>
    public const int SequenceLengthCheck = 11;

    /// <summary>
    /// rnn_cell_impl.py <c>_concat(batch_size, size)</c>: for a tensor batch size <c>expand_dims</c> (axis Const,
    /// ExpandDims), for a Python int a Const; a Const for the size; <c>concat</c> (axis Const, ConcatV2).
    /// </summary>
    public static int ConcatPrefix(bool staticBatch) => (staticBatch ? 1 : 2) + 1 + 2;

    /// <summary>
    /// rnn_cell_impl.py <c>RNNCell.zero_state</c>, per state tensor (<c>_zero_state_tensors</c>): the shape
    /// <see cref="ConcatPrefix"/>, <c>zeros</c> of that tensor shape (a Const and Fill), and, in graph mode,
    /// <c>_concat(batch_size, s, static=True)</c>, which still creates the prefix's ExpandDims (or Const) and the
    /// size Const before returning a Python list.
    /// </summary>
    public static int CellZeroState(bool staticBatch) => ConcatPrefix(staticBatch) + 2 + (staticBatch ? 1 : 2) + 1;

    /// <summary>
    /// keras/layers/recurrent.py <c>_generate_zero_filled_state</c>, per state tensor: <c>zeros([batch_size, n])</c>:
    /// for a Python int batch a Const (or three ops from 1000 elements on), for a tensor batch
    /// <see cref="Tf1Ops.ZerosOfTensorShapeList"/>.
    /// </summary>
    public static int KerasZeroState(bool staticBatch, int batch, int size) =>
        staticBatch ? Tf1Ops.Filled([batch, size]) : Tf1Ops.ZerosOfTensorShapeList;

    /// <summary>
    /// rnn.py zero output of one output size, <c>zeros(stack(_concat(batch_size, size)))</c>: the concat, no op for
    /// <c>stack</c> of one tensor, a Const and Fill.
    /// </summary>
    public static int ZeroOutput(bool staticBatch) => ConcatPrefix(staticBatch) + 2;

    /// <summary>
    /// rnn.py <c>_dynamic_rnn_loop</c> per input: a TensorArrayV3 and its <c>unstack</c>: <c>shape(x)[0]</c>,
    /// <c>range(0, n)</c> (start and delta Consts, Range), TensorArrayScatterV3.
    /// </summary>
    public const int InputTensorArray = 1 + Tf1Ops.ShapeDim + 3 + 1;

    /// <summary>
    /// rnn.py loop bound <c>minimum(time_steps, maximum(1, max_sequence_length))</c>: the Const 1, Maximum, Minimum.
    /// </summary>
    public const int LoopBound = 3;

    /// <summary>
    /// rnn.py <c>_time_step</c>, per input: TensorArrayReadV3 and the <c>Enter</c>s of the array's handle and flow.
    /// </summary>
    public const int InputRead = 3;

    /// <summary>
    /// tensor_array_ops.py <c>stack</c>, per output: TensorArraySizeV3, <c>range(0, size)</c> (start and delta
    /// Consts, Range), TensorArrayGatherV3.
    /// </summary>
    public const int OutputStack = 5;

    /// <summary>
    /// rnn.py <c>_rnn_step</c>'s <c>time &gt;= sequence_length</c>: in dynamic_rnn's loop GreaterEqual and the Enter of
    /// the lengths; in static_rnn, with a Python int time, a Const and LessEqual.
    /// </summary>
    public const int CopyCondition = 2;
}
