using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Graph.Core;

/// <summary>
/// Renders host arrays exactly like numpy's <c>str(ndarray)</c> / <c>print(arr)</c> with the default
/// print options (precision 8, floatmode 'maxprec', suppress False, linewidth 75, threshold 1000,
/// edgeitems 3, sign '-', legacy False).
/// </summary>
/// <remarks>
/// <para>
/// This is a C# re-implementation of numpy's <c>arrayprint.py</c> (<c>_formatArray</c>,
/// <c>FloatingFormat</c>, <c>IntegerFormat</c>, <c>BoolFormat</c>, summarisation through
/// <c>_leading_trailing</c>) together with numpy's Dragon4 float-to-decimal conversion
/// (<c>dragon4.c</c>), so float32 values print the shortest digits that identify the
/// <em>float32</em> value and float64 values those of the double.
/// </para>
/// <para>
/// The target is the numpy 1.21 – 2.2 behaviour that TF1-era code sees: an array switches to
/// scientific notation when its largest finite non-zero magnitude is at least 1e8, its smallest is
/// below 1e-4, or their ratio exceeds 1e3, for every float width; 0-d floats print positionally
/// for magnitudes in [1e-4, 1e16). (numpy 2.3 lowered the float32/float16 cut-offs; that later
/// change is deliberately not followed.) The 1e-4 test compares exact values, as numpy 1.x does
/// (numpy 2.0 – 2.2 compare float32 arrays against float32(1e-4), so there the one float32 value
/// nearest 1e-4 stays positional). Output is culture invariant.
/// </para>
/// </remarks>
public static class NumpyFormat
{
    private const int Precision = 8;
    private const int Threshold = 1000;
    private const int EdgeItems = 3;
    private const int LineWidth = 75;
    private const double ExpCutoffMax = 1e8;
    private const double ExpCutoffMin = 1e-4;
    private const double ExpCutoffRatio = 1e3;
    private const double ScalarMaxPositional = 1e16;
    private const double ScalarMinPositional = 1e-4;

    /// <summary>
    /// Formats a row-major array the way numpy's <c>str()</c> prints an ndarray of the same shape and dtype.
    /// </summary>
    /// <param name="flatData">
    /// The elements in row-major (C) order: a <see cref="float"/>[], <see cref="double"/>[],
    /// <see cref="Half"/>[], <see cref="int"/>[], <see cref="long"/>[], <see cref="bool"/>[] or any other
    /// one-dimensional array of a primitive integer type.
    /// </param>
    /// <param name="dims">The shape; empty for a 0-d (scalar) array.</param>
    /// <returns>The text numpy prints, without a trailing newline.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="flatData"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The element type is not supported, the array is not one-dimensional, a dimension is negative, or the
    /// product of <paramref name="dims"/> differs from the number of elements.
    /// </exception>
    public static string ToString(Array flatData, ReadOnlySpan<int> dims)
    {
        ArgumentNullException.ThrowIfNull(flatData);
        if (flatData.Rank != 1)
        {
            throw new ArgumentException("flatData must be a one-dimensional (flat) array.", nameof(flatData));
        }

        long size = 1;
        foreach (int d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Negative dimension {d} in shape.", nameof(dims));
            }

            size = checked(size * d);
        }

        if (size != flatData.Length)
        {
            throw new ArgumentException(
                $"Shape holds {size} elements but flatData has {flatData.Length}.", nameof(flatData));
        }

        Elements elements = Elements.Create(flatData);

        // str() of a 0-d array is the str() of its scalar.
        if (dims.Length == 0)
        {
            return elements.ScalarString(0);
        }

        // A null array (any dimension 0) prints as [].
        if (size == 0)
        {
            return "[]";
        }

        int ndim = dims.Length;
        int[] shape = dims.ToArray();
        long[] strides = new long[ndim];
        long stride = 1;
        for (int axis = ndim - 1; axis >= 0; axis--)
        {
            strides[axis] = stride;
            stride *= shape[axis];
        }

        bool summarize = size > Threshold;

        // The element formatter is sized from the displayed elements only (numpy's _leading_trailing).
        var shown = new List<long>();
        CollectShown(shape, strides, summarize, 0, 0, shown);
        ElementFormatter formatter = elements.CreateFormatter(shown);

        var layout = new Layout(shape, strides, summarize, formatter);
        return layout.Recurse(0, 0, " ", LineWidth);
    }

    private static bool AxisSummarized(bool summarize, int length) => summarize && 2 * EdgeItems < length;

    private static void CollectShown(int[] shape, long[] strides, bool summarize, int axis, long offset, List<long> shown)
    {
        if (axis == shape.Length)
        {
            shown.Add(offset);
            return;
        }

        int n = shape[axis];
        if (AxisSummarized(summarize, n))
        {
            for (int i = 0; i < EdgeItems; i++)
            {
                CollectShown(shape, strides, summarize, axis + 1, offset + (i * strides[axis]), shown);
            }

            for (int i = n - EdgeItems; i < n; i++)
            {
                CollectShown(shape, strides, summarize, axis + 1, offset + (i * strides[axis]), shown);
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                CollectShown(shape, strides, summarize, axis + 1, offset + (i * strides[axis]), shown);
            }
        }
    }

    /// <summary>numpy's <c>_formatArray</c> for separator ' ', prefix '' and legacy=False.</summary>
    private sealed class Layout
    {
        private readonly int[] _shape;
        private readonly long[] _strides;
        private readonly bool _summarize;
        private readonly ElementFormatter _formatter;

        public Layout(int[] shape, long[] strides, bool summarize, ElementFormatter formatter)
        {
            _shape = shape;
            _strides = strides;
            _summarize = summarize;
            _formatter = formatter;
        }

        public string Recurse(int axis, long offset, string hangingIndent, int currWidth)
        {
            int axesLeft = _shape.Length - axis;
            string nextHangingIndent = hangingIndent + " ";
            int nextWidth = currWidth - 1; // len(']')
            int length = _shape[axis];
            long stride = _strides[axis];
            bool showSummary = AxisSummarized(_summarize, length);
            int leadingItems = showSummary ? EdgeItems : 0;
            int trailingItems = showSummary ? EdgeItems : length;

            var s = new StringBuilder();
            if (axesLeft == 1)
            {
                // Width up to the separator / closing bracket: max(len(sep.rstrip()), len(']')) == 1.
                int elemWidth = currWidth - 1;
                var line = new StringBuilder(hangingIndent);
                for (int i = 0; i < leadingItems; i++)
                {
                    ExtendLine(s, line, _formatter.Format(offset + (i * stride)), elemWidth, hangingIndent);
                    line.Append(' ');
                }

                if (showSummary)
                {
                    ExtendLine(s, line, "...", elemWidth, hangingIndent);
                    line.Append(' ');
                }

                for (int i = trailingItems; i > 1; i--)
                {
                    ExtendLine(s, line, _formatter.Format(offset + ((length - i) * stride)), elemWidth, hangingIndent);
                    line.Append(' ');
                }

                ExtendLine(s, line, _formatter.Format(offset + ((length - 1) * stride)), elemWidth, hangingIndent);
                s.Append(line);
            }
            else
            {
                // separator.rstrip() is empty for ' ', so rows are separated by newlines only.
                string lineSep = new('\n', axesLeft - 1);
                for (int i = 0; i < leadingItems; i++)
                {
                    s.Append(hangingIndent)
                        .Append(Recurse(axis + 1, offset + (i * stride), nextHangingIndent, nextWidth))
                        .Append(lineSep);
                }

                if (showSummary)
                {
                    s.Append(hangingIndent).Append("...").Append(lineSep);
                }

                for (int i = trailingItems; i > 1; i--)
                {
                    s.Append(hangingIndent)
                        .Append(Recurse(axis + 1, offset + ((length - i) * stride), nextHangingIndent, nextWidth))
                        .Append(lineSep);
                }

                s.Append(hangingIndent)
                    .Append(Recurse(axis + 1, offset + ((length - 1) * stride), nextHangingIndent, nextWidth));
            }

            // Remove the hanging indent and wrap in [].
            return "[" + s.ToString(hangingIndent.Length, s.Length - hangingIndent.Length) + "]";
        }

        private static void ExtendLine(StringBuilder s, StringBuilder line, string word, int lineWidth, string nextLinePrefix)
        {
            bool needsWrap = line.Length + word.Length > lineWidth;

            // Don't wrap lines if it won't help.
            if (line.Length <= nextLinePrefix.Length)
            {
                needsWrap = false;
            }

            if (needsWrap)
            {
                int end = line.Length;
                while (end > 0 && char.IsWhiteSpace(line[end - 1]))
                {
                    end--;
                }

                s.Append(line.ToString(0, end)).Append('\n');
                line.Clear().Append(nextLinePrefix);
            }

            line.Append(word);
        }
    }

    private abstract class ElementFormatter
    {
        public abstract string Format(long index);
    }

    private enum FloatKind
    {
        Half,
        Single,
        Double,
    }

    /// <summary>Typed view of the flat data.</summary>
    private abstract class Elements
    {
        public static Elements Create(Array data) => data switch
        {
            double[] d => new FloatElements(FloatKind.Double, i => d[i]),
            float[] f => new FloatElements(FloatKind.Single, i => f[i]),
            Half[] h => new FloatElements(FloatKind.Half, i => (double)h[i]),
            bool[] b => new BoolElements(b),
            int[] a => new IntegerElements(i => a[i]),
            long[] a => new IntegerElements(i => a[i]),
            short[] a => new IntegerElements(i => a[i]),
            sbyte[] a => new IntegerElements(i => a[i]),
            byte[] a => new IntegerElements(i => a[i]),
            ushort[] a => new IntegerElements(i => a[i]),
            uint[] a => new IntegerElements(i => a[i]),
            ulong[] a => new IntegerElements(i => a[i]),
            _ => throw new ArgumentException(
                $"Unsupported element type {data.GetType().GetElementType()?.Name ?? "?"}.", nameof(data)),
        };

        public abstract string ScalarString(long index);

        public abstract ElementFormatter CreateFormatter(IReadOnlyList<long> shown);
    }

    private sealed class BoolElements : Elements
    {
        private readonly bool[] _data;

        public BoolElements(bool[] data) => _data = data;

        public override string ScalarString(long index) => _data[index] ? "True" : "False";

        public override ElementFormatter CreateFormatter(IReadOnlyList<long> shown) => new BoolFormatter(_data);

        private sealed class BoolFormatter : ElementFormatter
        {
            private readonly bool[] _data;

            public BoolFormatter(bool[] data) => _data = data;

            // An extra space so " True" and "False" have the same width (not for 0-d arrays).
            public override string Format(long index) => _data[index] ? " True" : "False";
        }
    }

    private sealed class IntegerElements : Elements
    {
        private readonly Func<long, BigInteger> _get;

        public IntegerElements(Func<long, BigInteger> get) => _get = get;

        private string Str(long index) => _get(index).ToString(CultureInfo.InvariantCulture);

        public override string ScalarString(long index) => Str(index);

        public override ElementFormatter CreateFormatter(IReadOnlyList<long> shown)
        {
            // numpy: max(len(str(max)), len(str(min))), which is the widest displayed element.
            BigInteger max = _get(shown[0]);
            BigInteger min = max;
            foreach (long i in shown)
            {
                BigInteger v = _get(i);
                if (v > max)
                {
                    max = v;
                }

                if (v < min)
                {
                    min = v;
                }
            }

            int width = Math.Max(
                max.ToString(CultureInfo.InvariantCulture).Length,
                min.ToString(CultureInfo.InvariantCulture).Length);
            return new IntegerFormatter(this, width);
        }

        private sealed class IntegerFormatter : ElementFormatter
        {
            private readonly IntegerElements _owner;
            private readonly int _width;

            public IntegerFormatter(IntegerElements owner, int width)
            {
                _owner = owner;
                _width = width;
            }

            public override string Format(long index) => _owner.Str(index).PadLeft(_width);
        }
    }

    private sealed class FloatElements : Elements
    {
        private readonly FloatKind _kind;
        private readonly Func<long, double> _get;

        public FloatElements(FloatKind kind, Func<long, double> get)
        {
            _kind = kind;
            _get = get;
        }

        /// <summary>numpy's scalar str (scalartypes.c.src, <c>*type_str_either</c>).</summary>
        public override string ScalarString(long index)
        {
            double v = _get(index);
            if (double.IsNaN(v))
            {
                return "nan";
            }

            if (double.IsInfinity(v))
            {
                return v < 0 ? "-inf" : "inf";
            }

            var bits = FloatBits.From(v, _kind);
            double abs = Math.Abs(v);
            bool positional = v == 0 || (abs < ScalarMaxPositional && abs >= ScalarMinPositional);
            return positional
                ? Dragon4Format.Positional(bits, unique: true, fractional: false, precision: -1, minDigits: -1,
                    TrimMode.LeaveOneZero, padLeft: -1, padRight: -1)
                : Dragon4Format.Scientific(bits, unique: true, precision: -1, minDigits: -1,
                    TrimMode.DptZeros, padLeft: -1, expDigits: -1);
        }

        public override ElementFormatter CreateFormatter(IReadOnlyList<long> shown)
        {
            var values = new double[shown.Count];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = _get(shown[i]);
            }

            return new FloatingFormatter(_kind, _get, values);
        }
    }

    /// <summary>numpy's <c>FloatingFormat</c> with precision 8, floatmode 'maxprec', suppress False, sign '-'.</summary>
    private sealed class FloatingFormatter : ElementFormatter
    {
        private readonly FloatKind _kind;
        private readonly Func<long, double> _get;
        private readonly bool _expFormat;
        private readonly int _padLeft;
        private readonly int _padRight;
        private readonly int _precision;
        private readonly int _minDigits;
        private readonly int _expSize;
        private readonly TrimMode _trim;

        public FloatingFormatter(FloatKind kind, Func<long, double> get, double[] data)
        {
            _kind = kind;
            _get = get;
            _precision = Precision;
            _minDigits = -1;
            _expSize = -1;
            _trim = TrimMode.Zeros;

            var finite = new List<double>(data.Length);
            foreach (double v in data)
            {
                if (double.IsFinite(v))
                {
                    finite.Add(v);
                }
            }

            // Choose exponential mode based on the non-zero finite values.
            double maxVal = double.NegativeInfinity;
            double minVal = double.PositiveInfinity;
            bool anyNonZero = false;
            foreach (double v in finite)
            {
                if (v != 0)
                {
                    double a = Math.Abs(v);
                    anyNonZero = true;
                    maxVal = Math.Max(maxVal, a);
                    minVal = Math.Min(minVal, a);
                }
            }

            if (anyNonZero)
            {
                // max_val / min_val is evaluated in the array's own precision (it may overflow to inf).
                double ratio = kind switch
                {
                    FloatKind.Double => maxVal / minVal,
                    FloatKind.Single => (float)maxVal / (float)minVal,
                    _ => (double)(Half)((float)maxVal / (float)minVal),
                };
                // The cut-offs are compared exactly (numpy 1.x promotes the float32 scalar to float64 here).
                _expFormat = maxVal >= ExpCutoffMax || minVal < ExpCutoffMin || ratio > ExpCutoffRatio;
            }

            // A first pass over the finite values determines the field sizes.
            if (finite.Count == 0)
            {
                _padLeft = 0;
                _padRight = 0;
                _trim = TrimMode.Zeros;
                _expSize = -1;
            }
            else if (_expFormat)
            {
                int maxInt = 0;
                int maxFrac = 0;
                int maxExp = 0;
                foreach (double v in finite)
                {
                    string s = Dragon4Format.Scientific(FloatBits.From(v, kind), unique: true, precision: _precision,
                        minDigits: -1, TrimMode.Zeros, padLeft: -1, expDigits: -1);
                    int e = s.IndexOf('e', StringComparison.Ordinal);
                    int dot = s.IndexOf('.', StringComparison.Ordinal);
                    maxInt = Math.Max(maxInt, dot);
                    maxFrac = Math.Max(maxFrac, e - dot - 1);
                    maxExp = Math.Max(maxExp, s.Length - e - 1);
                }

                _expSize = maxExp - 1;
                _trim = TrimMode.None;
                _precision = maxFrac;
                _minDigits = maxFrac;
                _padLeft = maxInt;
                _padRight = _expSize + 2 + _precision;
            }
            else
            {
                int maxInt = 0;
                int maxFrac = 0;
                foreach (double v in finite)
                {
                    string s = Dragon4Format.Positional(FloatBits.From(v, kind), unique: true, fractional: true,
                        precision: _precision, minDigits: -1, TrimMode.Zeros, padLeft: -1, padRight: -1);
                    int dot = s.IndexOf('.', StringComparison.Ordinal);
                    maxInt = Math.Max(maxInt, dot);
                    maxFrac = Math.Max(maxFrac, s.Length - dot - 1);
                }

                _padLeft = maxInt;
                _padRight = maxFrac;
                _expSize = -1;

                // floatmode 'maxprec'
                _trim = TrimMode.Zeros;
                _minDigits = 0;
            }

            // If there are non-finite values, pad_left may need to grow.
            if (finite.Count != data.Length)
            {
                int negInf = 0;
                foreach (double v in data)
                {
                    if (double.IsNegativeInfinity(v))
                    {
                        negInf = 1;
                        break;
                    }
                }

                int offset = _padRight + 1;
                _padLeft = Math.Max(_padLeft, Math.Max("nan".Length - offset, "inf".Length + negInf - offset));
            }
        }

        public override string Format(long index)
        {
            double x = _get(index);
            if (!double.IsFinite(x))
            {
                string ret = double.IsNaN(x) ? "nan" : x < 0 ? "-inf" : "inf";
                int width = _padLeft + _padRight + 1;
                return ret.PadLeft(width);
            }

            var bits = FloatBits.From(x, _kind);
            return _expFormat
                ? Dragon4Format.Scientific(bits, unique: true, _precision, _minDigits, _trim, _padLeft, _expSize)
                : Dragon4Format.Positional(bits, unique: true, fractional: true, _precision, _minDigits, _trim,
                    _padLeft, _padRight);
        }
    }

    private enum TrimMode
    {
        /// <summary>'k': keep trailing zeros and the decimal point.</summary>
        None,

        /// <summary>'.': trim trailing zeros, keep the decimal point.</summary>
        Zeros,

        /// <summary>'0': trim all but one zero after the decimal point.</summary>
        LeaveOneZero,

        /// <summary>'-': trim trailing zeros and the decimal point.</summary>
        DptZeros,
    }

    /// <summary>An IEEE value split as numpy's Dragon4 wants it: value = mantissa * 2^exponent.</summary>
    private readonly struct FloatBits
    {
        public FloatBits(bool negative, ulong mantissa, int exponent, int mantissaBit, bool hasUnequalMargins)
        {
            Negative = negative;
            Mantissa = mantissa;
            Exponent = exponent;
            MantissaBit = mantissaBit;
            HasUnequalMargins = hasUnequalMargins;
        }

        public bool Negative { get; }

        public ulong Mantissa { get; }

        public int Exponent { get; }

        public int MantissaBit { get; }

        public bool HasUnequalMargins { get; }

        public static FloatBits From(double value, FloatKind kind)
        {
            switch (kind)
            {
                case FloatKind.Single:
                {
                    uint u = BitConverter.SingleToUInt32Bits((float)value);
                    return Make(u >> 31 != 0, u & 0x7FFFFFu, (int)((u >> 23) & 0xFF), 23, 127);
                }

                case FloatKind.Half:
                {
                    ushort u = BitConverter.HalfToUInt16Bits((Half)value);
                    return Make(u >> 15 != 0, (ulong)(u & 0x3FF), (u >> 10) & 0x1F, 10, 15);
                }

                default:
                {
                    ulong u = BitConverter.DoubleToUInt64Bits(value);
                    return Make(u >> 63 != 0, u & 0xFFFFFFFFFFFFFul, (int)((u >> 52) & 0x7FF), 52, 1023);
                }
            }
        }

        private static FloatBits Make(bool negative, ulong floatMantissa, int floatExponent, int mantBits, int bias)
        {
            if (floatExponent != 0)
            {
                // normal: value = (2^mantBits + mantissa) * 2^(exponent - bias - mantBits)
                return new FloatBits(
                    negative,
                    (1ul << mantBits) | floatMantissa,
                    floatExponent - bias - mantBits,
                    mantBits,
                    floatExponent != 1 && floatMantissa == 0);
            }

            // subnormal: value = mantissa * 2^(1 - bias - mantBits)
            return new FloatBits(
                negative,
                floatMantissa,
                1 - bias - mantBits,
                floatMantissa == 0 ? 0 : BitOperations.Log2(floatMantissa),
                false);
        }
    }

    /// <summary>Port of numpy's dragon4.c (Ryan Juckett's Dragon4 with numpy's modifications).</summary>
    private static class Dragon4Format
    {
        private const double Log10Of2 = 0.30102999566398119521373889472449;

        // numpy prints into a 16384-byte scratch buffer; this only bounds digit generation without a cutoff.
        private const int BufferSize = 16384;

        public static string Positional(FloatBits bits, bool unique, bool fractional, int precision, int minDigits,
            TrimMode trim, int padLeft, int padRight)
        {
            var buffer = new StringBuilder();
            int hasSign = 0;
            if (bits.Negative)
            {
                buffer.Append('-');
                hasSign = 1;
            }

            string digits = Dragon4(bits, unique, fractional, precision, minDigits, BufferSize - 1 - hasSign,
                out int printExponent);
            int numDigits = digits.Length;
            int numWholeDigits;
            int numFractionDigits = 0;

            if (printExponent >= 0)
            {
                // The whole number part is at the start of the buffer.
                numWholeDigits = printExponent + 1;
                if (numDigits <= numWholeDigits)
                {
                    buffer.Append(digits).Append('0', numWholeDigits - numDigits);
                }
                else
                {
                    numFractionDigits = numDigits - numWholeDigits;
                    buffer.Append(digits, 0, numWholeDigits).Append('.').Append(digits, numWholeDigits, numFractionDigits);
                }
            }
            else
            {
                // Leading zeros of the fraction.
                int numFractionZeros = -(printExponent + 1);
                buffer.Append("0.").Append('0', numFractionZeros).Append(digits);
                numFractionDigits = numDigits + numFractionZeros;
                numWholeDigits = 1;
            }

            // Always add the decimal point, except in DptZeros mode.
            if (trim != TrimMode.DptZeros && numFractionDigits == 0)
            {
                buffer.Append('.');
            }

            int addDigits = unique ? minDigits : precision;
            int desiredFractionalDigits = addDigits < 0 ? 0 : addDigits;
            if (!fractional)
            {
                desiredFractionalDigits = addDigits - numWholeDigits;
            }

            if (trim == TrimMode.LeaveOneZero)
            {
                // If no fractional digits were printed, add a trailing 0.
                if (numFractionDigits == 0)
                {
                    buffer.Append('0');
                    numFractionDigits++;
                }
            }
            else if (trim == TrimMode.None && desiredFractionalDigits > numFractionDigits)
            {
                buffer.Append('0', desiredFractionalDigits - numFractionDigits);
                numFractionDigits = desiredFractionalDigits;
            }

            // Rounding may still leave trailing zeros; remove them according to the trim mode.
            if (trim != TrimMode.None && numFractionDigits > 0)
            {
                while (buffer[^1] == '0')
                {
                    buffer.Length--;
                    numFractionDigits--;
                }

                if (buffer[^1] == '.')
                {
                    if (trim == TrimMode.LeaveOneZero)
                    {
                        buffer.Append('0');
                        numFractionDigits++;
                    }
                    else if (trim == TrimMode.DptZeros)
                    {
                        buffer.Length--;
                    }
                }
            }

            // Whitespace padding on the right.
            if (padRight >= numFractionDigits)
            {
                int count = padRight - numFractionDigits;
                if (trim == TrimMode.DptZeros && numFractionDigits == 0)
                {
                    buffer.Append(' ');
                }

                buffer.Append(' ', count);
            }

            // Whitespace padding on the left.
            if (padLeft > numWholeDigits + hasSign)
            {
                buffer.Insert(0, " ", padLeft - (numWholeDigits + hasSign));
            }

            return buffer.ToString();
        }

        public static string Scientific(FloatBits bits, bool unique, int precision, int minDigits, TrimMode trim,
            int padLeft, int expDigits)
        {
            var buffer = new StringBuilder();
            int leftChars = 1 + (bits.Negative ? 1 : 0);
            if (padLeft > leftChars)
            {
                buffer.Append(' ', padLeft - leftChars);
            }

            if (bits.Negative)
            {
                buffer.Append('-');
            }

            string digits = Dragon4(bits, unique, fractionCutoff: false,
                precision < 0 ? -1 : precision + 1,
                minDigits < 0 ? -1 : minDigits + 1,
                BufferSize - buffer.Length,
                out int printExponent);

            // Keep the first digit as the whole number.
            buffer.Append(digits[0]);
            int numFractionDigits = digits.Length - 1;
            if (numFractionDigits > 0)
            {
                buffer.Append('.').Append(digits, 1, numFractionDigits);
            }

            // Always add the decimal point, except in DptZeros mode.
            if (trim != TrimMode.DptZeros && numFractionDigits == 0)
            {
                buffer.Append('.');
            }

            int addDigits = unique ? minDigits : precision;
            addDigits = addDigits < 0 ? 0 : addDigits;
            if (trim == TrimMode.LeaveOneZero)
            {
                if (numFractionDigits == 0)
                {
                    buffer.Append('0');
                    numFractionDigits++;
                }
            }
            else if (trim == TrimMode.None)
            {
                if (addDigits > numFractionDigits)
                {
                    buffer.Append('0', addDigits - numFractionDigits);
                    numFractionDigits = addDigits;
                }
            }

            // Rounding may still leave trailing zeros; remove them according to the trim mode.
            if (trim != TrimMode.None && numFractionDigits > 0)
            {
                while (buffer[^1] == '0')
                {
                    buffer.Length--;
                    numFractionDigits--;
                }

                if (trim == TrimMode.LeaveOneZero && buffer[^1] == '.')
                {
                    buffer.Append('0');
                    numFractionDigits++;
                }
            }

            // The exponent, with at least expDigits digits (default 2, at most 5).
            if (expDigits > 5)
            {
                expDigits = 5;
            }

            if (expDigits < 0)
            {
                expDigits = 2;
            }

            buffer.Append('e').Append(printExponent >= 0 ? '+' : '-');
            string exp = Math.Abs(printExponent).ToString(CultureInfo.InvariantCulture);
            buffer.Append('0', Math.Max(0, expDigits - exp.Length)).Append(exp);
            return buffer.ToString();
        }

        /// <summary>
        /// Generates the decimal digits of <paramref name="bits"/>; <paramref name="outExponent"/> is the base-10
        /// exponent of the first digit.
        /// </summary>
        private static string Dragon4(FloatBits bits, bool unique, bool fractionCutoff, int cutoffMax, int cutoffMin,
            int bufferSize, out int outExponent)
        {
            if (bits.Mantissa == 0)
            {
                outExponent = 0;
                return "0";
            }

            BigInteger mantissa = bits.Mantissa;
            int exponent = bits.Exponent;
            bool hasUnequalMargins = bits.HasUnequalMargins;
            bool isEven = (bits.Mantissa & 1) == 0;

            // value = scaledValue / scale; the margins are half the distance to the neighbouring floats.
            BigInteger scale;
            BigInteger scaledValue;
            BigInteger scaledMarginLow;
            if (hasUnequalMargins)
            {
                if (exponent > 0)
                {
                    scaledValue = mantissa << (exponent + 2);
                    scale = 4;
                    scaledMarginLow = BigInteger.One << exponent;
                }
                else
                {
                    scaledValue = mantissa << 2;
                    scale = BigInteger.One << (-exponent + 2);
                    scaledMarginLow = 1;
                }
            }
            else
            {
                if (exponent > 0)
                {
                    scaledValue = mantissa << (exponent + 1);
                    scale = 2;
                    scaledMarginLow = BigInteger.One << exponent;
                }
                else
                {
                    scaledValue = mantissa << 1;
                    scale = BigInteger.One << (-exponent + 1);
                    scaledMarginLow = 1;
                }
            }

            BigInteger scaledMarginHigh = hasUnequalMargins ? scaledMarginLow * 2 : scaledMarginLow;

            // Estimate digitExponent = floor(log10(v)) + 1; correct or one too low.
            int digitExponent = (int)Math.Ceiling(((double)(bits.MantissaBit + exponent) * Log10Of2) - 0.69);

            // Below the smallest fractional digit asked for: pull the digit back into range (rounding happens later).
            if (cutoffMax >= 0 && fractionCutoff && digitExponent <= -cutoffMax)
            {
                digitExponent = -cutoffMax + 1;
            }

            // Divide the value by 10^digitExponent.
            if (digitExponent > 0)
            {
                scale *= BigInteger.Pow(10, digitExponent);
            }
            else if (digitExponent < 0)
            {
                BigInteger pow10 = BigInteger.Pow(10, -digitExponent);
                scaledValue *= pow10;
                scaledMarginLow *= pow10;
                scaledMarginHigh = hasUnequalMargins ? scaledMarginLow * 2 : scaledMarginLow;
            }

            if (scaledValue >= scale)
            {
                // The estimate was too low.
                digitExponent++;
            }
            else
            {
                scaledValue *= 10;
                scaledMarginLow *= 10;
                scaledMarginHigh = hasUnequalMargins ? scaledMarginLow * 2 : scaledMarginLow;
            }

            // The exponent of the last digit to print.
            int cutoffMaxExponent = digitExponent - bufferSize;
            if (cutoffMax >= 0)
            {
                int desired = fractionCutoff ? -cutoffMax : digitExponent - cutoffMax;
                if (desired > cutoffMaxExponent)
                {
                    cutoffMaxExponent = desired;
                }
            }

            int cutoffMinExponent = digitExponent;
            if (cutoffMin >= 0)
            {
                int desired = fractionCutoff ? -cutoffMin : digitExponent - cutoffMin;
                if (desired < cutoffMinExponent)
                {
                    cutoffMinExponent = desired;
                }
            }

            outExponent = digitExponent - 1;

            var digits = new StringBuilder();
            bool low;
            bool high;
            int outputDigit;
            if (unique)
            {
                // Print until the value is uniquely identified (and at least cutoffMin digits) or the cutoff is hit.
                while (true)
                {
                    digitExponent--;
                    outputDigit = (int)BigInteger.DivRem(scaledValue, scale, out scaledValue);
                    BigInteger scaledValueHigh = scaledValue + scaledMarginHigh;

                    int cmp = scaledValue.CompareTo(scaledMarginLow);
                    low = isEven ? cmp <= 0 : cmp < 0;
                    cmp = scaledValueHigh.CompareTo(scale);
                    high = isEven ? cmp >= 0 : cmp > 0;
                    if (((low || high) && digitExponent <= cutoffMinExponent) || digitExponent == cutoffMaxExponent)
                    {
                        break;
                    }

                    digits.Append((char)('0' + outputDigit));
                    scaledValue *= 10;
                    scaledMarginLow *= 10;
                    scaledMarginHigh = hasUnequalMargins ? scaledMarginLow * 2 : scaledMarginLow;
                }
            }
            else
            {
                // Exact digits until the value is exhausted or the cutoff is hit.
                low = false;
                high = false;
                while (true)
                {
                    digitExponent--;
                    outputDigit = (int)BigInteger.DivRem(scaledValue, scale, out scaledValue);
                    if (scaledValue.IsZero || digitExponent == cutoffMaxExponent)
                    {
                        break;
                    }

                    digits.Append((char)('0' + outputDigit));
                    scaledValue *= 10;
                }
            }

            // Round down by default if the value got too close to 0.
            bool roundDown = low;
            if (low == high)
            {
                // Round to the closest digit by comparing the remainder with 0.5; ties go to the even digit.
                int compare = (scaledValue * 2).CompareTo(scale);
                roundDown = compare < 0;
                if (compare == 0)
                {
                    roundDown = (outputDigit & 1) == 0;
                }
            }

            if (roundDown)
            {
                digits.Append((char)('0' + outputDigit));
            }
            else if (outputDigit == 9)
            {
                // Find the first non-nine prior digit.
                while (true)
                {
                    if (digits.Length == 0)
                    {
                        // Every digit was 9: output 1 at the next exponent.
                        digits.Append('1');
                        outExponent++;
                        break;
                    }

                    char last = digits[^1];
                    digits.Length--;
                    if (last != '9')
                    {
                        digits.Append((char)(last + 1));
                        break;
                    }
                }
            }
            else
            {
                digits.Append((char)('0' + outputDigit + 1));
            }

            return digits.ToString();
        }
    }
}
