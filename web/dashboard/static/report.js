// Load the 8-week trend chart after the page: it reads eight weeks, the rest of the page one.
const box = document.getElementById("trend");
if (box) {
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
    .then((svg) => { box.innerHTML = svg; })
    .catch(() => { box.textContent = "—"; });
}
