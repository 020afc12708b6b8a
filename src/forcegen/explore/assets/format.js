// forcegen explore: the sliders' tooltips show values as the levers' notes and the
// downloaded YAML write them (forcegen.explore.levers.format_value): integers plainly,
// others like Python's "{:.4g}", not 0.00007192585940677707.
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.forcegenValue = function (value) {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) {
    return String(value);
  }
  const trim = function (s) {
    return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
  };
  const sci = Number(value).toExponential(3); // the exponent after rounding to 4 digits
  const exp = parseInt(sci.split("e")[1], 10);
  if (exp < -4 || exp >= 4) {
    const mant = trim(sci.split("e")[0]);
    return mant + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
  }
  return trim(Number(value).toFixed(Math.max(0, 3 - exp)));
};
