namespace Graph.Core;

/// <summary>
/// How many ops TensorFlow 1.15's Python API creates for a graph-building call, where that is not one op per call.
/// TF1 derives a random op's seed from the number of ops created before it (<see cref="ComputeGraph.LastId"/>), so
/// every call counts what TF1 would have created, whatever Graph builds for it. Each count names the TF1 source it
/// comes from (paths under <c>tensorflow/python/</c>); docs/tf1-mapping.md lists them per call.
/// </summary>
public static class Tf1Ops
{
    /// <summary>
    /// A generated op whose <paramref name="constants"/> Python arguments (a shape, perm, axis, begin, size, multiples)
    /// <c>op_def_library</c> first converts into <c>Const</c> ops: <c>tf.transpose(x, perm)</c>, <c>tf.reshape</c>,
    /// <c>tf.expand_dims</c>, <c>tf.concat</c> (axis), <c>tf.gather</c> (axis), <c>tf.tile</c>, <c>tf.fill</c> (dims),
    /// <c>tf.argmax</c> (axis): one; <c>tf.slice</c> (begin, size): two.
    /// </summary>
    public static int WithConstants(int constants) => constants + 1;

    /// <summary>
    /// <c>tf.zeros(shape)</c> / <c>tf.ones(shape)</c> with a shape of Python ints (ops/array_ops.py
    /// <c>_constant_if_small</c>): one <c>Const</c> when the shape has fewer than 1000 elements, otherwise a shape
    /// <c>Const</c>, a scalar <c>Const</c> and a <c>Fill</c>.
    /// </summary>
    public static int Filled(ReadOnlySpan<int> shape)
    {
        long size = 1;
        foreach (var d in shape) size *= d;
        return size < 1000 ? 1 : 3;
    }

    /// <summary><c>tf.ones_like(x)</c> (ops/array_ops.py <c>ones_like_impl</c>): <c>Shape</c> (or a Const), then <c>ones</c> of a tensor shape: a Const and a <c>Fill</c>.</summary>
    public const int OnesLike = 3;

    /// <summary>
    /// <c>tf.split</c> (ops/array_ops.py <c>split</c>): <c>convert_to_tensor(num_or_size_splits)</c> makes a Const
    /// even when it is an int and then unused, the axis a Const, then <c>Split</c> or <c>SplitV</c>.
    /// </summary>
    public const int Split = 3;

    /// <summary><c>tf.one_hot(indices, depth)</c> with the default on/off values: Consts for on_value, off_value and depth, then <c>OneHot</c>.</summary>
    public const int OneHot = 4;

    /// <summary>
    /// <c>tf.reduce_sum/mean/max/min/prod/all</c> (ops/math_ops.py <c>_ReductionDims</c>): the axes (or
    /// <c>np.arange(rank)</c>) as a Const, then the reduction; with no axes and an unknown rank, <c>Rank</c> and
    /// <c>range(0, rank)</c> (start and delta Consts, <c>Range</c>) instead of the Const.
    /// </summary>
    public static int Reduction(bool axesKnown) => axesKnown ? 2 : 5;

    /// <summary>
    /// <c>tf.shape(x)[i]</c>: <c>Shape</c> (a Const when the shape is fully defined), then the strided slice
    /// (ops/array_ops.py <c>_slice_helper</c>): begin, end and strides each <c>stack</c>ed from Python ints into a
    /// Const, and <c>StridedSlice</c>.
    /// </summary>
    public const int ShapeDim = 5;

    /// <summary>
    /// <c>tf.zeros([batch_tensor, n])</c> for a shape list holding a tensor (ops/array_ops.py <c>zeros</c>):
    /// <c>_constant_if_small</c> calls <c>np.prod([batch, n]) &lt; 1000</c>, which with TF 1.15's numpy builds
    /// <c>batch * n</c> (Const + Mul) and <c>&lt; 1000</c> (Const + Less) before the bool conversion raises the
    /// TypeError it catches; then the list is auto-packed (a Const for n, <c>Pack</c>) and filled (a Const, <c>Fill</c>).
    /// </summary>
    public const int ZerosOfTensorShapeList = 8;

    /// <summary>
    /// <c>tf.while_loop</c> (ops/control_flow_ops.py <c>WhileContext._BuildLoop</c>) for <paramref name="loopVars"/>
    /// loop variables (tensor-array flows included): per variable an <c>Enter</c> and a <c>Merge</c> before the
    /// condition, then <c>LoopCond</c>, per variable a <c>Switch</c> and an <c>Identity</c> before the body. The
    /// <c>NextIteration</c> and <c>Exit</c> per variable after the body are <see cref="WhileLoopEnd"/>.
    /// </summary>
    public static int WhileLoopStart(int loopVars) => 2 * loopVars;

    /// <summary>The <c>LoopCond</c> and, per loop variable, the <c>Switch</c> and <c>Identity</c> between condition and body.</summary>
    public static int WhileLoopBetween(int loopVars) => 1 + 2 * loopVars;

    /// <summary>The <c>NextIteration</c> and <c>Exit</c> per loop variable after the body.</summary>
    public static int WhileLoopEnd(int loopVars) => 2 * loopVars;
}
