// The console's few interactions: the chart, the map, and the softphone playing what the caller hears.
"use strict";

function drawChart() {
  const canvas = document.getElementById("per-hour-chart");
  const data = document.getElementById("per-hour-data");
  if (!canvas || !data || typeof Chart === "undefined") return;
  const figures = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: figures.labels.map((h) => h + "時"),
      datasets: [{ label: "着信数", data: figures.values, backgroundColor: "#2f6fb3" }],
    },
    options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function drawMap() {
  if (!document.getElementById("menu-map") || typeof mermaid === "undefined") return;
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", flowchart: { useMaxWidth: true } });
  mermaid.run({ querySelector: "#menu-map" });
}

// Play the prompts of a turn one after another, as the caller hears them; a key press stops them.
function playTurn(root) {
  const clips = Array.from(root.querySelectorAll("audio.heard"));
  clips.forEach((clip, i) => {
    clip.addEventListener("ended", () => {
      if (clips[i + 1]) clips[i + 1].play().catch(() => {});
    });
  });
  if (clips.length) clips[0].play().catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  drawChart();
  drawMap();
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target && event.detail.target.id === "turn") {
      event.detail.target.querySelectorAll("audio").forEach((clip) => clip.pause());
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "turn") playTurn(event.detail.target);
  });
});
