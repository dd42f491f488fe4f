//! Float constants print as CPython's `repr` does, including exact ties (values printed by
//! CPython 3.12: `repr(2**-25)`, `repr(2**-24)`, `repr(1.2345678901234567e-7)`).

#[test]
fn float_repr_ties_like_dtoa() {
    for (f, s) in [
        (2f64.powi(-25), "2.9802322387695312e-08"),
        (2f64.powi(-24), "5.960464477539063e-08"),
        (1.2345678901234567e-7, "1.2345678901234566e-07"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (-0.0, "-0.0"),
        (5e-324, "5e-324"),
    ] {
        assert_eq!(pyc_format::float_repr(f), s);
    }
}
