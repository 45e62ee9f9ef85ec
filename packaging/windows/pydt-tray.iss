; Per-user Windows installer for pydt-tray (no administrator rights), made from the PyInstaller bundle.
;
;   python -m PyInstaller --noconfirm --clean pyinstaller.spec            (-> dist\pydt-tray\)
;   iscc /DAppVersion=0.1.0 packaging\windows\pydt-tray.iss               (-> dist\pydt-tray-0.1.0-windows-x64-setup.exe)
;
; Installs into %LOCALAPPDATA%\Programs\pydt-tray, adds a Start-menu shortcut carrying the AppUserModelID the
; app sets for its notifications, optionally starts pydt-tray at login (the same HKCU Run value the app's
; own "Start at login" writes), and on removal deletes that value and offers to run `pydt-tray forget`.
; See docs/packaging.md.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\pydt-tray.iss
#endif
#define AppName "pydt-tray"
; Must equal pydt_tray.platform.notifications.set_windows_app_user_model_id's default.
#define AppUserModelID "pydt-tray.pydt-tray"
; Must equal pydt_tray.platform.autostart.RUN_KEY_PATH / RUN_VALUE_NAME.
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define RunValue "pydt-tray"

[Setup]
AppId={{6F1D6C55-3C1B-4B7E-9C3A-2B7D0E5A9F41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=pydt-tray developers
AppPublisherURL=https://github.com/pydt-tray/pydt-tray
VersionInfoVersion={#AppVersion}
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableDirPage=yes
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SourceDir=..\..
OutputDir=dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup
SetupIconFile=build\pydt-assets\pydt-tray.ico
UninstallDisplayIcon={app}\pydt-tray.exe
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start pydt-tray when I log in (in the tray, no window)"; Flags: unchecked

[Files]
Source: "dist\pydt-tray\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\{#AppName}"; Filename: "{app}\pydt-tray.exe"; AppUserModelID: "{#AppUserModelID}"; \
  Comment: "Play Your Damn Turn in the system tray"

[Registry]
; The Run value the app itself writes (a windowed program, no console): removed again on uninstall.
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValue}"; \
  ValueData: """{app}\pydt-tray.exe"" --hidden"; Flags: uninsdeletevalue; Tasks: startatlogin

[Run]
; Keep the setting in step with the Run value, or the app would remove the value at its next start.
Filename: "{app}\pydt-tray-cli.exe"; Parameters: "config set start_at_login true"; Flags: runhidden; \
  Tasks: startatlogin
Filename: "{app}\pydt-tray.exe"; Description: "Start pydt-tray now"; Flags: nowait postinstall skipifsilent

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  ResultCode: Integer;
begin
  if CurUninstallStep = usUninstall then
  begin
    { A running pydt-tray keeps its files open: end this user's instance first. }
    Exec(ExpandConstant('{sys}\taskkill.exe'), '/F /IM pydt-tray.exe', '', SW_HIDE, ewWaitUntilTerminated, ResultCode);
    { Whoever wrote it (this installer or the app's "Start at login"), the Run value goes with the program. }
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#RunValue}');
    if (not UninstallSilent) and
       (MsgBox('Also forget your PYDT token and pydt-tray''s data on this computer?' + #13#10 + #13#10 +
               'This removes the token from the Windows Credential Manager and deletes pydt-tray''s state, ' +
               'logs and cache (pydt-tray forget). Your settings file is kept.',
               mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES) then
    begin
      if not Exec(ExpandConstant('{app}\pydt-tray-cli.exe'), 'forget --yes', '', SW_HIDE,
                  ewWaitUntilTerminated, ResultCode) or (ResultCode <> 0) then
        MsgBox('pydt-tray forget did not finish (code ' + IntToStr(ResultCode) + '). ' +
               'The token may still be in the Credential Manager under "pydt-tray".', mbError, MB_OK);
    end;
  end;
end;
