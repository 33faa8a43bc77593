//! Curve formulas written once, generic over a field: evaluated on arkworks they are the golden model, traced they become microcode.
