// Inline SVG icons, so nothing depends on an emoji font being installed.

const NS = "http://www.w3.org/2000/svg";

/** The Cartroom logo: a shopping cart in a rounded square. */
export function logo(big = false): HTMLElement {
  const wrap = document.createElement("span");
  wrap.className = big ? "logo big" : "logo";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  for (const d of ["M3 4h2.2l2.1 10.2a1.5 1.5 0 0 0 1.5 1.2h8.4a1.5 1.5 0 0 0 1.5-1.1L20.5 8H6.1"]) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  for (const cx of ["9.5", "17"]) {
    const c = document.createElementNS(NS, "circle");
    c.setAttribute("cx", cx);
    c.setAttribute("cy", "19.5");
    c.setAttribute("r", "1.4");
    svg.appendChild(c);
  }
  wrap.appendChild(svg);
  return wrap;
}
