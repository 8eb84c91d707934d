// passdrop's collection form, with JavaScript on: one password field with a show/hide
// toggle instead of typing it twice. Without this script the form keeps both fields;
// the server accepts `password` alone, or with a matching `password_confirm`.
// Nothing here reads, stores or sends the password; paste is never blocked.
(function () {
  "use strict";
  var password = document.getElementById("password");
  var toggle = document.getElementById("password-toggle");
  if (!password || !toggle) {
    return;
  }
  var confirmField = document.getElementById("confirm-field");
  var confirm = document.getElementById("password_confirm");
  // One field instead of two: the toggle lets the user see what they typed.
  if (confirmField && confirm) {
    confirm.disabled = true; // a disabled field is not sent
    confirm.required = false;
    confirmField.hidden = true;
  }
  toggle.hidden = false;
  function show(visible) {
    password.type = visible ? "text" : "password";
    toggle.textContent = visible ? toggle.dataset.hide : toggle.dataset.show;
    toggle.setAttribute("aria-pressed", visible ? "true" : "false");
  }
  toggle.addEventListener("click", function () {
    show(password.type === "password");
    password.focus();
  });
  // Sent as a password field, so the browser never keeps it as form history. While the
  // server checks it (up to a minute), the button says so and cannot send it twice.
  var submit = document.getElementById("submit");
  if (password.form) {
    password.form.addEventListener("submit", function () {
      show(false);
      if (submit && submit.dataset.checking) {
        submit.disabled = true;
        submit.setAttribute("aria-busy", "true");
        submit.textContent = submit.dataset.checking;
      }
    });
  }
})();
