using System;
using System.Globalization;
using System.Linq;
using Graph.Core;

namespace Graph.Tests;

/// <summary>
/// Expected strings come from numpy's own tests (numpy/_core/tests/test_arrayprint.py and
/// test_scalarprint.py; repr() expectations are converted to str() by dropping "array(", the commas and
/// re-wrapping with the str prefix) or are derived by hand from arrayprint.py / dragon4.c; each case says
/// which. Target behaviour: numpy 1.21 - 2.2 default print options (see <see cref="NumpyFormat"/>).
/// </summary>
[TestFixture]
public class NumpyFormatTests
{
    private static string Print(Array data, params int[] dims) => NumpyFormat.ToString(data, dims);

    private static string Lines(params string[] lines) => string.Join("\n", lines);

    // ---------------------------------------------------------------- float32

    /// <summary>A 4x5 float32 matrix of tanh outputs.</summary>
    [Test]
    public void Float32_2D_TanhOutputs_AlignsDecimalPointsAndSigns()
    {
        // Derived: float32 tanh outputs. Each element is the shortest float32 digits, cut to 8 fractional
        // digits (0.009999666f -> 0.00999967, -0.049958374f -> -0.04995837), padded to pad_left=2 /
        // pad_right=8; numpy prints np.float32(-0.0664006099104881) as -0.06640061.
        float[] data =
        [
            -0.06640061f, 0.33637553f, -0.8336546f, 0.9866143f, 0.009999666f,
            0.99955034f, -0.63514894f, 0.7615942f, -0.9640276f, 0.124353f,
            -0.99999994f, 0.5370496f, -0.2913126f, 0.997283f, -0.049958374f,
            0.71629786f, 0.93540907f, -0.9993293f, 0.19737533f, 0.9999999f,
        ];

        Print(data, 4, 5).Should().Be(Lines(
            "[[-0.06640061  0.33637553 -0.8336546   0.9866143   0.00999967]",
            " [ 0.99955034 -0.63514894  0.7615942  -0.9640276   0.124353  ]",
            " [-0.99999994  0.5370496  -0.2913126   0.997283   -0.04995837]",
            " [ 0.71629786  0.93540907 -0.9993293   0.19737533  0.9999999 ]]"));
    }

    /// <summary>A long float32 vector wraps at linewidth 75.</summary>
    [Test]
    public void Float32_1D_TanhOutputs_WrapsAt75Columns()
    {
        // Derived: 11-character words; a line is wrapped once len(line) + len(word) > 74 (_formatArray).
        float[] data =
        [
            -0.06640061f, 0.33637553f, -0.8336546f, 0.9866143f, 0.009999666f,
            0.99955034f, -0.63514894f, 0.7615942f, -0.9640276f, 0.124353f,
            -0.99999994f, 0.5370496f, -0.2913126f, 0.997283f, -0.049958374f,
            0.71629786f, 0.93540907f, -0.9993293f, 0.19737533f, 0.9999999f,
        ];

        Print(data, 20).Should().Be(Lines(
            "[-0.06640061  0.33637553 -0.8336546   0.9866143   0.00999967  0.99955034",
            " -0.63514894  0.7615942  -0.9640276   0.124353   -0.99999994  0.5370496",
            " -0.2913126   0.997283   -0.04995837  0.71629786  0.93540907 -0.9993293",
            "  0.19737533  0.9999999 ]"));
    }

    /// <summary>A 3-d float32 array puts a blank line between 2-d blocks.</summary>
    [Test]
    public void Float32_3D_SeparatesBlocksWithBlankLine()
    {
        // Derived: rows of a 3-d array end with "\n", 2-d blocks with "\n\n" (line_sep = '\n' * (axes_left - 1)).
        float[] data =
        [
            -0.06640061f, 0.33637553f, -0.8336546f, 0.9866143f, 0.009999666f,
            0.99955034f, -0.63514894f, 0.7615942f, -0.9640276f, 0.124353f,
            -0.99999994f, 0.5370496f, -0.2913126f, 0.997283f, -0.049958374f,
            0.71629786f, 0.93540907f, -0.9993293f, 0.19737533f, 0.9999999f,
        ];

        Print(data, 2, 2, 5).Should().Be(Lines(
            "[[[-0.06640061  0.33637553 -0.8336546   0.9866143   0.00999967]",
            "  [ 0.99955034 -0.63514894  0.7615942  -0.9640276   0.124353  ]]",
            "",
            " [[-0.99999994  0.5370496  -0.2913126   0.997283   -0.04995837]",
            "  [ 0.71629786  0.93540907 -0.9993293   0.19737533  0.9999999 ]]]"));
    }

    /// <summary>Integral floats print with a trailing decimal point.</summary>
    [Test]
    public void Float32_IntegralValues_PrintTrailingDot()
    {
        // test_arrayprint.py TestPrintOptions.test_dtype_linewidth_wrapping: repr(np.arange(10, 23., dtype='f4')).
        float[] data = Enumerable.Range(10, 13).Select(i => (float)i).ToArray();
        Print(data, 13).Should().Be("[10. 11. 12. 13. 14. 15. 16. 17. 18. 19. 20. 21. 22.]");
    }

    /// <summary>Continuation lines are indented past the bracket.</summary>
    [Test]
    public void Float32_LongIntegralArray_WrapsWithHangingIndent()
    {
        // Derived: 3-character words, 18 per line (1 + 4 * 18 + 3 > 74).
        float[] data = Enumerable.Range(0, 30).Select(i => (float)i).ToArray();
        Print(data, 30).Should().Be(Lines(
            "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.",
            " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"));
    }

    /// <summary>Large float32 values switch to scientific notation at 1e8.</summary>
    [Test]
    public void Float32_ExponentCutoff_IsAtOneHundredMillion()
    {
        // test_arrayprint.py TestPrintOptions.test_legacy_2_2_mode (the numpy <= 2.2 float32 cut-off at 1e8).
        Print(new[] { 1e6f, 1e7f }, 2).Should().Be("[ 1000000. 10000000.]");
        Print(new[] { 1e7f, 1e8f }, 2).Should().Be("[1.e+07 1.e+08]");

        // test_arrayprint.py TestPrintOptions.test_gh_28679.
        Print(new[] { 999999f, 999999f }, 2).Should().Be("[999999. 999999.]");

        // Derived: float32(1e-4) = 9.99999974738e-05 is below 1e-4 in numpy 1.x's float64 comparison.
        Print(new[] { 1e-4f }, 1).Should().Be("[1.e-04]");
        Print(new[] { 1e-4f, 0.5f }, 2).Should().Be("[1.e-04 5.e-01]");
        Print(new[] { 0.00010001f, 0.05f }, 2).Should().Be("[0.00010001 0.05      ]");
    }

    /// <summary>maxprec prints every integer digit of large float32 values.</summary>
    [Test]
    public void Float32_LargeIntegers_PrintExactIntegerDigits()
    {
        // Derived: maxprec formats with min_digits=0, which prints every integer digit of the float32
        // (test_scalarprint.py test_dragon4: fpos32(f32x, unique=True, fractional=True, min_digits=0)).
        // 99999992 is a float32 whose shortest digits are 9.999999e7.
        Print(new[] { 99999992f }, 1).Should().Be("[99999992.]");
    }

    /// <summary>Summarisation and the max/min ratio rule.</summary>
    [Test]
    public void Float32_SummarisedAndScientific_WhenMaxOverMinExceedsOneThousand()
    {
        // Derived: size 2000 > threshold 1000 keeps 3 edge items; the formatter only sees 0,1,2,1997,1998,1999
        // and 1999 / 1 > 1e3 selects scientific notation with a common precision of 3.
        float[] data = Enumerable.Range(0, 2000).Select(i => (float)i).ToArray();
        Print(data, 2000).Should().Be("[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
    }

    /// <summary>A 2-d summary elides rows and columns.</summary>
    [Test]
    public void Float32_Summarised2D_ElidesRowsAndColumns()
    {
        // Derived: a 40x50 array keeps rows 0-2 and 37-39 and columns 0-2 and 47-49; "..." rows carry the hanging indent.
        float[] data = Enumerable.Range(0, 2000).Select(i => (float)(i + 1000)).ToArray();
        Print(data, 40, 50).Should().Be(Lines(
            "[[1000. 1001. 1002. ... 1047. 1048. 1049.]",
            " [1050. 1051. 1052. ... 1097. 1098. 1099.]",
            " [1100. 1101. 1102. ... 1147. 1148. 1149.]",
            " ...",
            " [2850. 2851. 2852. ... 2897. 2898. 2899.]",
            " [2900. 2901. 2902. ... 2947. 2948. 2949.]",
            " [2950. 2951. 2952. ... 2997. 2998. 2999.]]"));
    }

    // ---------------------------------------------------------------- float64

    /// <summary>Fractions are padded on the right to a common width.</summary>
    [Test]
    public void Float64_MixedDigitCounts_PadRight()
    {
        // test_arrayprint.py TestPrintOptions.test_basic: repr(np.array([1.5, 0, 1.234567890])).
        Print(new[] { 1.5, 0, 1.234567890 }, 3).Should().Be("[1.5        0.         1.23456789]");

        // test_arrayprint.py TestArray2String.test_structure_format_float (2.1234567890123456789 -> 2.12345679).
        Print(new[] { 1.0, 2.1234567890123456789, 3.0 }, 3).Should().Be("[1.         2.12345679 3.        ]");
    }

    /// <summary>Integral floats align on the decimal point.</summary>
    [Test]
    public void Float64_IntegralValues_AlignOnDecimalPoint()
    {
        // test_arrayprint.py TestPrintOptions.test_float_spacing and test_sign_spacing.
        Print(new[] { 1.0, 2.0, 3.0 }, 3).Should().Be("[1. 2. 3.]");
        Print(new[] { 1.0, 2.0, -10.0 }, 3).Should().Be("[  1.   2. -10.]");
        Print(new[] { 100.0, 2.0, -1.0 }, 3).Should().Be("[100.   2.  -1.]");
        Print(new[] { -100.0, 2.0, 1.0 }, 3).Should().Be("[-100.    2.    1.]");
        Print(new[] { 0.0, 1.0, 2.0, 3.0 }, 4).Should().Be("[0. 1. 2. 3.]");
        Print(new[] { 0.0 }, 1).Should().Be("[0.]");
    }

    /// <summary>Negative zero keeps its sign.</summary>
    [Test]
    public void Float64_NegativeZero_PrintsMinusZero()
    {
        // test_arrayprint.py TestPrintOptions.test_sign_spacing: repr(np.array([0., -0.])).
        Print(new[] { 0.0, -0.0 }, 2).Should().Be("[ 0. -0.]");
    }

    /// <summary>Precision 8 in maxprec mode, wrapped.</summary>
    [Test]
    public void Float64_MaxPrecision_WrapsRows()
    {
        // test_arrayprint.py TestPrintOptions.test_floatmode, y in maxprec mode with precision 8
        // (str wraps after 6 ten-character words: 1 + 11 * 6 + 10 > 74).
        double[] y =
        [
            0.2918820979355541, 0.5064172631089138, 0.2848750619642916, 0.4342965294660567,
            0.7326538397312751, 0.3459503329096204, 0.0862072768214508, 0.39112753029631175,
        ];

        Print(y, 8).Should().Be(Lines(
            "[0.2918821  0.50641726 0.28487506 0.43429653 0.73265384 0.34595033",
            " 0.08620728 0.39112753]"));
    }

    /// <summary>The switch to scientific notation and its field widths.</summary>
    [Test]
    public void Float64_Scientific_ForLargeOrSpreadValues()
    {
        // test_arrayprint.py TestPrintOptions.test_sign_spacing: repr(np.array([1.234e9])).
        Print(new[] { 1.234e9 }, 1).Should().Be("[1.234e+09]");

        // test_arrayprint.py TestPrintOptions.test_floatmode: w[::5] and wp (three-digit exponents widen all).
        Print(new[] { 1e0, 1e5, 1e10, 1e15, 1e20 }, 5).Should().Be("[1.e+00 1.e+05 1.e+10 1.e+15 1.e+20]");
        Print(new[] { 1.234e1, 1e2, 1e123 }, 3).Should().Be("[1.234e+001 1.000e+002 1.000e+123]");

        // Derived: min < 1e-4 switches to scientific; all elements get the widest fraction (min_digits).
        Print(new[] { 1e-5, 1.5 }, 2).Should().Be("[1.0e-05 1.5e+00]");

        // Derived: max / min = 2000 > 1e3 switches; max / min = 1000 does not.
        Print(new[] { 0.001, 2.0 }, 2).Should().Be("[1.e-03 2.e+00]");
        Print(new[] { 1.0, 1000.0 }, 2).Should().Be("[   1. 1000.]");
    }

    /// <summary>Powers of ten use shortest digits (including 1e23).</summary>
    [Test]
    public void Float64_PowersOfTen_ShortestDigitsAndWrapping()
    {
        // test_arrayprint.py TestPrintOptions.test_floatmode: w = 1e0 .. 1e24 (1e23 lies between two doubles);
        // str wraps after 10 six-character words (1 + 7 * 10 + 6 > 74).
        double[] w = Enumerable.Range(0, 25)
            .Select(i => double.Parse("1e" + i.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture))
            .ToArray();

        Print(w, 25).Should().Be(Lines(
            "[1.e+00 1.e+01 1.e+02 1.e+03 1.e+04 1.e+05 1.e+06 1.e+07 1.e+08 1.e+09",
            " 1.e+10 1.e+11 1.e+12 1.e+13 1.e+14 1.e+15 1.e+16 1.e+17 1.e+18 1.e+19",
            " 1.e+20 1.e+21 1.e+22 1.e+23 1.e+24]"));
    }

    /// <summary>float32 and float64 differ in their shortest digits.</summary>
    [Test]
    public void Float64AndFloat32_UseTheirOwnShortestDigits()
    {
        // Derived: 1/3 as a double rounds to 8 fractional digits; as a float32 its shortest digits are 0.33333334.
        Print(new[] { 0.1, 1.0 / 3.0 }, 2).Should().Be("[0.1        0.33333333]");
        Print(new[] { 0.1f, 1.0f / 3.0f }, 2).Should().Be("[0.1        0.33333334]");

        // Derived: the 0-d str has no precision limit (shortest round-trip digits of each type).
        Print(new[] { 1.0f / 3.0f }).Should().Be("0.33333334");
        Print(new[] { 1.0 / 3.0 }).Should().Be("0.3333333333333333");
        Print(new[] { (double)0.1f }).Should().Be("0.10000000149011612");
        Print(new[] { 0.1f }).Should().Be("0.1");
    }

    // ---------------------------------------------------------------- nan / inf

    /// <summary>nan and inf are padded to the field width.</summary>
    [Test]
    public void NanAndInf_PadToTheFieldWidth()
    {
        // test_arrayprint.py TestArrayRepr.test_nan_inf and TestPrintOptions.test_float_spacing.
        Print(new[] { double.NaN, double.PositiveInfinity }, 2).Should().Be("[nan inf]");
        Print(new[] { double.NaN, double.NegativeInfinity }, 2).Should().Be("[ nan -inf]");

        // Derived from test_float_spacing's precision=2 case, here with the default precision 8.
        Print(new[] { double.PositiveInfinity, 100000, 1.1234 }, 3).Should().Be("[       inf 1.0000e+05 1.1234e+00]");

        // Derived: pad_left grows to fit "nan" / "-inf" in front of the decimal point.
        Print(new[] { 1f, float.NaN, float.NegativeInfinity }, 3).Should().Be("[  1.  nan -inf]");
        Print(new[] { double.NaN, 1e-5 }, 2).Should().Be("[   nan 1.e-05]");
    }

    // ---------------------------------------------------------------- float16

    /// <summary>Half precision arrays.</summary>
    [Test]
    public void Float16_MaxPrecision()
    {
        // test_arrayprint.py TestPrintOptions.test_floatmode: x and z (float16) in maxprec mode.
        Half[] x = new[] { 0.6104, 0.922, 0.457, 0.0906, 0.3733, 0.007244, 0.5933, 0.947, 0.2383, 0.4226 }
            .Select(v => (Half)v).ToArray();
        Print(x, 10).Should().Be(Lines(
            "[0.6104   0.922    0.457    0.0906   0.3733   0.007244 0.5933   0.947",
            " 0.2383   0.4226  ]"));

        Half[] z = Enumerable.Range(0, 6).Select(i => (Half)(i / 10.0)).ToArray();
        Print(z, 6).Should().Be("[0.  0.1 0.2 0.3 0.4 0.5]");
    }

    // ---------------------------------------------------------------- integers

    /// <summary>Integers are right-aligned to a common width.</summary>
    [Test]
    public void Integers_RightAlignedToCommonWidth()
    {
        // test_arrayprint.py TestArray2String.test_basic and test_with_sign (sign='-').
        Print(new[] { 0, 1, 2 }, 3).Should().Be("[0 1 2]");
        Print(new[] { -2, 0, 3 }, 3).Should().Be("[-2  0  3]");
        Print(new[] { 2, 0, 3 }, 3).Should().Be("[2 0 3]");
        Print(new[] { -2, -1, -3 }, 3).Should().Be("[-2 -1 -3]");
        Print(new[] { 10, -1, 1, 1, 10, 10, 10, 10 }, 2, 4).Should().Be("[[10 -1  1  1]\n [10 10 10 10]]");
        Print(new[] { 10L, 0, 1, 1, 10, 10, 10, 10 }, 2, 4).Should().Be("[[10  0  1  1]\n [10 10 10 10]]");
        Print(new[] { -10L, -1, -1, -1, -10, -10, -10, -10 }, 2, 4)
            .Should().Be("[[-10  -1  -1  -1]\n [-10 -10 -10 -10]]");

        // Derived: the width is max(len(str(max)), len(str(min))).
        Print(new[] { long.MinValue, long.MaxValue, 0 }, 3)
            .Should().Be("[-9223372036854775808  9223372036854775807                    0]");
    }

    /// <summary>A long integer vector wraps at linewidth 75.</summary>
    [Test]
    public void Integers_LongArray_Wraps()
    {
        // Derived (the familiar print(np.arange(100))): 24 three-character words per line.
        int[] data = Enumerable.Range(0, 100).ToArray();
        Print(data, 100).Should().Be(Lines(
            "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
            " 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47",
            " 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71",
            " 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95",
            " 96 97 98 99]"));
    }

    /// <summary>Arrays larger than 1000 elements are summarised.</summary>
    [Test]
    public void Integers_Summarised()
    {
        // test_arrayprint.py TestArray2String.test_summarize_1d and TestPrintOptions.test_legacy_stray_comma.
        Print(Enumerable.Range(0, 1001).Select(i => (long)i).ToArray(), 1001)
            .Should().Be("[   0    1    2 ...  998  999 1000]");
        Print(Enumerable.Range(0, 10000).ToArray(), 10000).Should().Be("[   0    1    2 ... 9997 9998 9999]");

        // test_arrayprint.py TestArray2String.test_summarize_2d.
        Print(Enumerable.Range(0, 1002).Select(i => (long)i).ToArray(), 2, 501).Should().Be(Lines(
            "[[   0    1    2 ...  498  499  500]",
            " [ 501  502  503 ...  999 1000 1001]]"));

        // Derived: size 1000 is not above the threshold, so nothing is elided.
        string full = Print(Enumerable.Range(0, 1000).ToArray(), 1000);
        full.Should().NotContain("...");
        full.Should().StartWith("[  0   1   2").And.EndWith("997 998 999]");
    }

    /// <summary>A 3-d summary elides whole blocks.</summary>
    [Test]
    public void Integers_Summarised3D_ElidesBlocksWithBlankLines()
    {
        // Derived: np.arange(1331).reshape(11, 11, 11); the elided block is " ...\n\n" (line_sep of the outer axis).
        string expected = Lines(
            "[[[   0    1    2 ...    8    9   10]",
            "  [  11   12   13 ...   19   20   21]",
            "  [  22   23   24 ...   30   31   32]",
            "  ...",
            "  [  88   89   90 ...   96   97   98]",
            "  [  99  100  101 ...  107  108  109]",
            "  [ 110  111  112 ...  118  119  120]]",
            "",
            " [[ 121  122  123 ...  129  130  131]",
            "  [ 132  133  134 ...  140  141  142]",
            "  [ 143  144  145 ...  151  152  153]",
            "  ...",
            "  [ 209  210  211 ...  217  218  219]",
            "  [ 220  221  222 ...  228  229  230]",
            "  [ 231  232  233 ...  239  240  241]]",
            "",
            " [[ 242  243  244 ...  250  251  252]",
            "  [ 253  254  255 ...  261  262  263]",
            "  [ 264  265  266 ...  272  273  274]",
            "  ...",
            "  [ 330  331  332 ...  338  339  340]",
            "  [ 341  342  343 ...  349  350  351]",
            "  [ 352  353  354 ...  360  361  362]]",
            "",
            " ...",
            "",
            " [[ 968  969  970 ...  976  977  978]",
            "  [ 979  980  981 ...  987  988  989]",
            "  [ 990  991  992 ...  998  999 1000]",
            "  ...",
            "  [1056 1057 1058 ... 1064 1065 1066]",
            "  [1067 1068 1069 ... 1075 1076 1077]",
            "  [1078 1079 1080 ... 1086 1087 1088]]",
            "",
            " [[1089 1090 1091 ... 1097 1098 1099]",
            "  [1100 1101 1102 ... 1108 1109 1110]",
            "  [1111 1112 1113 ... 1119 1120 1121]",
            "  ...",
            "  [1177 1178 1179 ... 1185 1186 1187]",
            "  [1188 1189 1190 ... 1196 1197 1198]",
            "  [1199 1200 1201 ... 1207 1208 1209]]",
            "",
            " [[1210 1211 1212 ... 1218 1219 1220]",
            "  [1221 1222 1223 ... 1229 1230 1231]",
            "  [1232 1233 1234 ... 1240 1241 1242]",
            "  ...",
            "  [1298 1299 1300 ... 1306 1307 1308]",
            "  [1309 1310 1311 ... 1317 1318 1319]",
            "  [1320 1321 1322 ... 1328 1329 1330]]]");

        Print(Enumerable.Range(0, 1331).ToArray(), 11, 11, 11).Should().Be(expected);
    }

    // ---------------------------------------------------------------- bool

    /// <summary>Booleans print as True/False padded to equal width.</summary>
    [Test]
    public void Bools_PadTrueToFalseWidth()
    {
        // test_arrayprint.py TestPrintOptions.test_bool_spacing.
        Print(new[] { true, true }, 2).Should().Be("[ True  True]");
        Print(new[] { true, false }, 2).Should().Be("[ True False]");
        Print(new[] { true }, 1).Should().Be("[ True]");

        // Derived: the same formatter per row.
        Print(new[] { true, false, false, true }, 2, 2).Should().Be("[[ True False]\n [False  True]]");
    }

    // ---------------------------------------------------------------- 0-d

    /// <summary>0-d arrays print like numpy scalars.</summary>
    [Test]
    public void Scalars_PrintLikeNumpyScalarStr()
    {
        // test_scalarprint.py TestRealScalars.test_str (float16/float32/float64).
        Print(new[] { 0.0f }).Should().Be("0.0");
        Print(new[] { -0.0 }).Should().Be("-0.0");
        Print(new[] { 1.0f }).Should().Be("1.0");
        Print(new[] { -1.0 }).Should().Be("-1.0");
        Print(new[] { (Half)1 }).Should().Be("1.0");
        Print(new[] { float.PositiveInfinity }).Should().Be("inf");
        Print(new[] { double.NegativeInfinity }).Should().Be("-inf");
        Print(new[] { float.NaN }).Should().Be("nan");

        // test_scalarprint.py test_scalar_cutoffs (same as Python's repr of the double).
        Print(new[] { 1.12345678901234567890 }).Should().Be("1.1234567890123457");
        Print(new[] { 0.0112345678901234567890 }).Should().Be("0.011234567890123457");
        Print(new[] { 1e-5 }).Should().Be("1e-05");
        Print(new[] { 1e-4 }).Should().Be("0.0001");
        Print(new[] { 1e15 }).Should().Be("1000000000000000.0");
        Print(new[] { 1e16 }).Should().Be("1e+16");

        // test_scalarprint.py test_gh_28679 (float32 cases unaffected by numpy 2.3's cut-off change)
        // and test_legacy_2_2_mode.
        Print(new[] { 0.000099f }).Should().Be("9.9e-05");
        Print(new[] { -0.000100001f }).Should().Be("-0.000100001");
        Print(new[] { 999999f }).Should().Be("999999.0");
        Print(new[] { 1e15f }).Should().Be("1000000000000000.0");
        Print(new[] { 1e16f }).Should().Be("1e+16");

        // test_scalarprint.py TestRealScalars.test_legacy_mode_scalars (legacy=False).
        Print(new[] { 1.123456789123456789 }).Should().Be("1.1234567891234568");

        // Derived: float32(1e-4) is below 1e-4, so its 0-d str is scientific (scalartypes.c.src compares exactly).
        Print(new[] { 1e-4f }).Should().Be("1e-04");
        Print(new[] { 1e-4 }).Should().Be("0.0001");

        // Derived: the float32 example from the brief, ints and bools.
        Print(new[] { (float)-0.0664006099104881 }).Should().Be("-0.06640061");
        Print(new[] { -5 }).Should().Be("-5");
        Print(new[] { 123456789012L }).Should().Be("123456789012");
        Print(new[] { true }).Should().Be("True");
        Print(new[] { false }).Should().Be("False");
    }

    /// <summary>0-d floats print the shortest round-trip digits.</summary>
    [Test]
    public void Scalars_MatchShortestRoundTripDigits()
    {
        // Derived: in [1e-4, 1e15) (float32: [1e-4, 1e7), where .NET's "R" stays positional) the 0-d str is the
        // shortest round-trip digits, as .NET's "R" format gives them (test_scalar_cutoffs checks
        // str(np.float64(v)) == repr(v)), with ".0" appended to integral values.
        var random = new Random(12345);
        for (int i = 0; i < 2000; i++)
        {
            double d = Math.Pow(10, (random.NextDouble() * 18) - 4) * (random.Next(2) == 0 ? 1 : -1);
            if (Math.Abs(d) >= 1e15 || Math.Abs(d) < 1e-4)
            {
                continue;
            }

            float f = (float)d;
            Print(new[] { d }).Should().Be(WithPointZero(d.ToString("R", CultureInfo.InvariantCulture)));
            if (Math.Abs(f) >= 1e-4f && Math.Abs(f) < 1e7f)
            {
                Print(new[] { f }).Should().Be(WithPointZero(f.ToString("R", CultureInfo.InvariantCulture)));
            }
        }

        static string WithPointZero(string s) => s.Contains('.', StringComparison.Ordinal) ? s : s + ".0";
    }

    // ---------------------------------------------------------------- empty / validation / culture

    /// <summary>Arrays with a zero dimension print as [].</summary>
    [Test]
    public void EmptyArrays_PrintBrackets()
    {
        // arrayprint.array2string: "treat as a null array if any of shape elements == 0".
        Print(Array.Empty<float>(), 0).Should().Be("[]");
        Print(Array.Empty<double>(), 2, 0).Should().Be("[]");
        Print(Array.Empty<bool>(), 0, 3, 4).Should().Be("[]");
    }

    /// <summary>One-element arrays keep one bracket per dimension.</summary>
    [Test]
    public void SingleElementArrays_KeepBrackets()
    {
        // Derived: a 1x1x1 array nests its brackets; compare the 0-d forms above.
        Print(new[] { 2.5f }, 1, 1, 1).Should().Be("[[[2.5]]]");
        Print(new[] { 7 }, 1).Should().Be("[7]");
    }

    /// <summary>The output does not depend on the current culture.</summary>
    [Test]
    public void Output_IsCultureInvariant()
    {
        // sv-SE formats numbers with ',' and U+2212 as the minus sign.
        CultureInfo culture;
        try
        {
            culture = CultureInfo.GetCultureInfo("sv-SE");
        }
        catch (CultureNotFoundException)
        {
            Assert.Ignore("sv-SE culture data is not available (invariant globalization mode).");
            return;
        }

        Assume.That(culture.NumberFormat.NumberDecimalSeparator, Is.EqualTo(","));

        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = culture;
            Print(new[] { 1.5, -2.25 }, 2).Should().Be("[ 1.5  -2.25]");
            Print(new[] { 1e-5, 1.5 }, 2).Should().Be("[1.0e-05 1.5e+00]");
            Print(new[] { -3, 12 }, 2).Should().Be("[-3 12]");
            Print(new[] { -0.5f }).Should().Be("-0.5");
            Print(new[] { -7L }).Should().Be("-7");
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    /// <summary>Bad arguments are rejected.</summary>
    [Test]
    public void InvalidArguments_Throw()
    {
        Action nullData = () => NumpyFormat.ToString(null!, [1]);
        nullData.Should().Throw<ArgumentNullException>();

        Action wrongSize = () => Print(new[] { 1f, 2f, 3f }, 2, 2);
        wrongSize.Should().Throw<ArgumentException>();

        Action negativeDim = () => Print(Array.Empty<float>(), -1);
        negativeDim.Should().Throw<ArgumentException>();

        Action unsupported = () => Print(new[] { "a" }, 1);
        unsupported.Should().Throw<ArgumentException>();

        Action scalarNeedsOneElement = () => Print(new[] { 1, 2 });
        scalarNeedsOneElement.Should().Throw<ArgumentException>();
    }
}
