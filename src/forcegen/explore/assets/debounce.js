// forcegen explore: the sliders' values reach the server through this debounce.
// A move after a pause is sent at once; moves that follow it within `ms` milliseconds
// (a key pressed again and again, or held down) are merged: only the last is sent,
// once the slider has rested for `ms`. So ten key presses ask for two redraws, and
// a single move waits for nothing.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  forcegen: {
    debounce: function (values, ms) {
      const wait = ms || 300;
      const s = window.forcegenLevers || (window.forcegenLevers = { seq: 0, last: 0 });
      const me = ++s.seq;
      const now = Date.now();
      const quiet = now - s.last > wait;
      s.last = now;
      if (quiet) {
        return values;
      }
      return new Promise(function (resolve) {
        setTimeout(function () {
          resolve(me === s.seq ? values : window.dash_clientside.no_update);
        }, wait);
      });
    },
  },
});
