// Refresh the overview's live part every 30 seconds (and when the tab becomes visible again).
const box = document.getElementById("live");
async function refresh() {
  if (!box || document.hidden) return;
  try {
    const response = await fetch(box.dataset.src, { credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" } });
    if (response.ok) box.innerHTML = await response.text();
  } catch { /* offline for a moment: keep what is shown */ }
}
setInterval(refresh, 30000);
document.addEventListener("visibilitychange", refresh);
window.gridpatrolRefresh = refresh;
