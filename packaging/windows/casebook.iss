; Casebook for Windows: a per-user installer that needs no administrator rights.
;
; Build the frozen folder first (python packaging\build.py), then:
;   iscc /DAppVersion=0.1.0 packaging\windows\casebook.iss
; The installer is written to dist\installer\Casebook-<version>-setup.exe.
;
; Why per user: council laptops do not give officers admin rights. Everything goes
; under %LOCALAPPDATA%\Programs (where application whitelisting rules for per-user
; apps usually point) and HKCU; nothing is written to Program Files or HKLM.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Casebook"
#define AppExe "casebook.exe"
; The console twin for scripts and the self-test (casebook.exe is windowed).
#define CliExe "casebook-cli.exe"
#define BundleDir "..\..\dist\casebook"

[Setup]
AppId={{6C3E8F1A-4B7D-4E1C-9B0A-CA5EB00C0001}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=The Casebook developers
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\{#AppExe}
SetupIconFile=casebook.ico
OutputDir=..\..\dist\installer
OutputBaseFilename=Casebook-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Tell Explorer the file associations changed (HKCU only; no admin needed).
ChangesAssociations=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked
Name: "cbpack"; Description: "Open .cbpack content packs with Casebook"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; The .cbpack file type, for the current user only (HKCU\Software\Classes).
Root: HKCU; Subkey: "Software\Classes\.cbpack"; ValueType: string; ValueName: ""; ValueData: "Casebook.Pack"; Flags: uninsdeletevalue; Tasks: cbpack
Root: HKCU; Subkey: "Software\Classes\Casebook.Pack"; ValueType: string; ValueName: ""; ValueData: "Casebook content pack"; Flags: uninsdeletekey; Tasks: cbpack
Root: HKCU; Subkey: "Software\Classes\Casebook.Pack\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: cbpack
Root: HKCU; Subkey: "Software\Classes\Casebook.Pack\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: cbpack

[Run]
; A last check that the installed copy works here (whitelisting, antivirus): quiet,
; and only offered, never forced.
Filename: "{app}\{#CliExe}"; Parameters: "--self-test"; Description: "Check that Casebook works on this computer"; Flags: postinstall runhidden waituntilterminated unchecked skipifsilent
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: postinstall nowait skipifsilent

[UninstallDelete]
; Files Casebook writes beside itself are removed with it; the library is not (below).
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
{ The reader's notes and library live in %LOCALAPPDATA%\Casebook (desktop_app/paths.py),
  not in {app}. The uninstaller has no wizard pages, so it asks a Yes/No question whose
  default is No: notes are work, and a reinstall (or a newer version) picks them up. }
function DataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\Casebook');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and DirExists(DataDir()) then
  begin
    if UninstallSilent() then
      exit;  { silent uninstalls never delete the user's notes }
    if MsgBox('Also delete your Casebook library, notes and highlights?' + #13#10#13#10 +
              'They are in ' + DataDir() + '.' + #13#10 +
              'Choose No to keep them for a later installation (recommended).',
              mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
      DelTree(DataDir(), True, True, True);
  end;
end;
