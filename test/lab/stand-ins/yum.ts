// stand-in for yum: on EL 8 and 9 yum is dnf, and so it is in the lab (see dnf.ts).
import './dnf.ts';
