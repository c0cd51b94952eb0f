// Sends the session's CSRF token with every htmx request and exposes it for fetch() calls.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  window.qingshanCsrf = token;
  document.addEventListener('htmx:configRequest', function (event) {
    if (token) { event.detail.headers['X-CSRF-Token'] = token; }
  });
})();
