/* The score sheet: live total, range and step checks as the expert types, and autosaved drafts.
   The server checks everything again (scoring's rule); this only tells the expert sooner. */
(function () {
  "use strict";
  var form = document.getElementById("sheet");
  if (!form) { return; }
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=number]"));
  var total = document.getElementById("total");
  var note = document.getElementById("total-note");
  var status = document.getElementById("autosave-status");
  var url = form.dataset.autosave;
  var dirty = false;
  var inFlight = false;                         // one save at a time: requests sent together can be stored in
  var again = false;                            // any order, and an older one stored last would undo a newer one
  var AUTOSAVE_MS = 20000;

  function isMultiple(value, step) {           // as scoring.templates.is_multiple
    var ratio = value / step;
    return Math.abs(ratio - Math.round(ratio)) <= 1e-9 * Math.max(1, Math.abs(ratio));
  }

  function problem(input) {
    if (input.validity && input.validity.badInput) { return form.dataset.msgNumber; }
    if (input.value.trim() === "") { return ""; }
    var value = Number(input.value);
    if (!isFinite(value)) { return form.dataset.msgNumber; }
    if (value < 0) { return form.dataset.msgMin; }
    if (value > Number(input.dataset.max)) { return form.dataset.msgMax + " " + input.dataset.max; }
    if (!isMultiple(value, Number(input.dataset.step))) { return form.dataset.msgStep + " " + input.dataset.step; }
    return "";
  }

  function check(input) {
    var message = problem(input);
    var slot = input.parentNode.querySelector(".check");
    if (slot) { slot.textContent = message; }
    input.classList.toggle("invalid", message !== "");
    input.setAttribute("aria-invalid", message !== "" ? "true" : "false");
    return message === "";
  }

  // The total counts valid values only: an invalid one is marked beside its input and named in the note,
  // and the note says the total is incomplete until every criterion has a valid score.
  function recount() {
    var sum = 0, scored = 0, invalid = 0;
    inputs.forEach(function (input) {
      if (problem(input) !== "") { invalid += 1; return; }
      if (input.value.trim() === "") { return; }
      sum += Number(input.value);
      scored += 1;
    });
    total.textContent = String(Math.round(sum * 1000) / 1000);
    var notes = [];
    if (scored < inputs.length) {
      notes.push(form.dataset.msgIncomplete.replace("{scored}", scored).replace("{count}", inputs.length));
    }
    if (invalid > 0) { notes.push(form.dataset.msgInvalid.replace("{count}", invalid)); }
    if (note) { note.textContent = notes.join(" · "); }
  }

  function save() {
    if (!url || !dirty) { return; }
    if (inFlight) { again = true; return; }     // sent when the save under way has its answer
    if (!inputs.every(check)) { return; }       // the server would refuse the whole save
    dirty = false;
    inFlight = true;
    var token = form.querySelector("input[name=csrf_token]").value;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin",
                 headers: { "X-CSRFToken": token, "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.saved) {
          status.textContent = form.dataset.msgSaved + " " + new Date().toLocaleTimeString();
        } else {
          dirty = true;
          status.textContent = form.dataset.msgFailed + " " + answer.errors.join("; ");
        }
      })
      .catch(function () { dirty = true; })
      .then(function () {
        inFlight = false;
        if (again) { again = false; save(); }
      });
  }

  inputs.forEach(function (input) {
    input.addEventListener("input", function () { check(input); recount(); dirty = true; });
  });
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", save);
  inputs.forEach(check);
  recount();
  window.setInterval(save, AUTOSAVE_MS);
})();
