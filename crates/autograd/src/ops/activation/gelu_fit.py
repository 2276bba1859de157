"""The coefficient tables of gelu's vectorised f32 kernel (gelu.rs), from mpmath.

    python gelu_fit.py [N]      # N: degree of the erfc fit, 14 in gelu.rs

ERF_SERIES: erf(z) / z as a polynomial in z^2, the Taylor series
(2 / sqrt pi) (-1)^n / (n! (2n + 1)), n = 0 .. 15, at 50 digits, rounded to f64.

ERFC_LOG: h(s) = ln(erfc(z) / t) + z^2 for z >= Z0 = 0.8, with t = 2 / (2 + z) and
s = 2 t / T0 - 1 in (-1, 1] (T0 = 2 / (2 + Z0)), as a polynomial in s: the Chebyshev
interpolant of degree N at 60 digits, converted to monomial coefficients and rounded to
f64. Prints the worst absolute error of the rounded polynomial (evaluated in mpmath) on
4,001 points, which bounds the relative error of erfc(z) = t e^h(s) e^(-z^2).
"""

import sys

import mpmath as mp

mp.mp.dps = 60
Z0 = mp.mpf("0.8")
T0 = 2 / (2 + Z0)


def h_of_s(s):
    t = (s + 1) * T0 / 2
    if t == 0:
        return -mp.log(2 * mp.sqrt(mp.pi))
    z = 2 / t - 2
    return mp.log(mp.erfc(z) / t) + z * z


def erfc_fit(n):
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / (n + 1)) for k in range(n + 1)]
    vals = [h_of_s(x) for x in nodes]
    cheb = []
    for j in range(n + 1):
        sj = sum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / (n + 1)) for k in range(n + 1))
        cheb.append(2 * sj / (n + 1))
    cheb[0] /= 2
    # Chebyshev polynomials as monomial coefficients, T_{k+1} = 2 s T_k - T_{k-1}.
    basis = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for k in range(2, n + 1):
        a = [mp.mpf(0)] + [2 * v for v in basis[k - 1]]
        b = basis[k - 2] + [mp.mpf(0)] * (len(a) - len(basis[k - 2]))
        basis.append([x - y for x, y in zip(a, b)])
    mono = [mp.mpf(0)] * (n + 1)
    for j in range(n + 1):
        for i, v in enumerate(basis[j]):
            mono[i] += cheb[j] * v
    return [float(v) for v in mono]


def worst_error(coeffs):
    worst = mp.mpf(0)
    for i in range(4001):
        s = -1 + mp.mpf(2) * i / 4000
        p = mp.mpf(0)
        for v in reversed(coeffs):
            p = p * s + mp.mpf(v)
        worst = max(worst, abs(p - h_of_s(s)))
    return worst


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 14
    mp.mp.dps = 50
    series = [2 / mp.sqrt(mp.pi) * (-1) ** k / (mp.factorial(k) * (2 * k + 1)) for k in range(16)]
    print("ERF_SERIES", [repr(float(v)) for v in series])
    mp.mp.dps = 60
    coeffs = erfc_fit(n)
    print("ERFC_LOG", [repr(v) for v in coeffs])
    print("worst absolute error of h:", mp.nstr(worst_error(coeffs), 3))


if __name__ == "__main__":
    main()
