// Conduix dashboard: two conveniences, nothing the pages need to work.
// - buttons with data-copy="<element id>" copy that element's text to the clipboard;
// - forms with data-confirm="<question>" ask before submitting (revoke, remove).
(function () {
  'use strict';
  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest && ev.target.closest('[data-copy]');
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute('data-copy'));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = 'Copied';
      setTimeout(function () { btn.textContent = old; }, 1500);
    });
  });
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var q = form.getAttribute && form.getAttribute('data-confirm');
    if (q && !window.confirm(q)) ev.preventDefault();
  });
})();
