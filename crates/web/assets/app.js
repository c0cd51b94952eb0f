// Loaded (deferred) on every page before the page's own scripts: the CSRF token for htmx and fetch(), the one
// HTML-escaping helper, and the few behaviours the templates ask for with data-* attributes. The
// Content-Security-Policy (crates/web/src/security.rs) allows no inline script and no on…= handler, so the
// templates declare what they want and this file does it.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  window.qingshanCsrf = token;
  document.addEventListener('htmx:configRequest', function (event) {
    if (token) { event.detail.headers['X-CSRF-Token'] = token; }
  });

  // Text → HTML that shows it as text. Every value that reaches HTML built in script (ECharts tooltip
  // formatters, whose result is set as innerHTML) goes through this: names are typed by users (a street
  // officer renames an enterprise), and a name must never become markup in someone else's session.
  var entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  window.escapeHtml = function (value) {
    return value === null || value === undefined ? '' : String(value).replace(/[&<>"']/g, function (c) { return entities[c]; });
  };

  // <select data-autosubmit>: choosing an option submits its form (the year pickers).
  document.addEventListener('change', function (event) {
    var el = event.target;
    if (el && el.matches && el.matches('[data-autosubmit]') && el.form) { el.form.submit(); }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.matches) { return; }
    // <form data-confirm="…">: asks before a destructive post.
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    // <form data-goto="/path/{field}">: opens the path with the field's value instead of submitting.
    var target = form.getAttribute('data-goto');
    if (target) {
      event.preventDefault();
      window.location.href = target.replace(/\{(\w+)\}/g, function (_, name) {
        var field = form.elements[name];
        return encodeURIComponent(field ? field.value : '');
      });
    }
  });
  document.addEventListener('click', function (event) {
    var el = event.target && event.target.closest ? event.target.closest('[data-print],[data-back]') : null;
    if (!el) { return; }
    if (el.hasAttribute('data-print')) { event.preventDefault(); window.print(); }
    // <a href="/" data-back>: back to the previous page when there is one (the link's href otherwise).
    if (el.hasAttribute('data-back') && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
})();
